//! Prompt templates: files in `prompts/`, embedded in the binary, overridable by the user.
//!
//! Rendering is strict: a variable the template uses but the caller did not supply is an error
//! that names the template's file and the variable. Pure: the caller reads override files and
//! hands their text in (see `config`), so this module does no I/O.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use std::collections::BTreeMap;

/// The templates the pipeline uses, with their embedded defaults.
pub const BUILTIN: &[(&str, &str)] = &[
    ("plan.md", include_str!("../../prompts/plan.md")),
    ("chapters.md", include_str!("../../prompts/chapters.md")),
    ("chapter.md", include_str!("../../prompts/chapter.md")),
    ("write.md", include_str!("../../prompts/write.md")),
    ("step.md", include_str!("../../prompts/step.md")),
    ("continue.md", include_str!("../../prompts/continue.md")),
    ("guard.md", include_str!("../../prompts/guard.md")),
    ("memory.md", include_str!("../../prompts/memory.md")),
    ("summarize.md", include_str!("../../prompts/summarize.md")),
    ("document.md", include_str!("../../prompts/document.md")),
    ("contents.md", include_str!("../../prompts/contents.md")),
    (
        "chapter-contents.md",
        include_str!("../../prompts/chapter-contents.md"),
    ),
];

/// Errors of loading or rendering a template.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// A template does not parse.
    #[error("{origin}: template syntax error: {reason}")]
    Syntax {
        /// Where the template came from.
        origin: String,
        /// What minijinja said.
        reason: String,
    },
    /// A template uses a variable the pipeline does not supply.
    #[error(
        "{origin}: unknown variable `{variable}`; the variables available here are: {available}"
    )]
    UnknownVariable {
        /// Where the template came from.
        origin: String,
        /// The unknown name.
        variable: String,
        /// What could be used instead.
        available: String,
    },
    /// Rendering failed for another reason.
    #[error("{origin}: {reason}")]
    Render {
        /// Where the template came from.
        origin: String,
        /// What minijinja said.
        reason: String,
    },
    /// An override names no template the pipeline uses.
    #[error(
        "{origin}: there is no built-in template called {name:?}; known: {}",
        known()
    )]
    UnknownTemplate {
        /// Where the override came from.
        origin: String,
        /// Its name.
        name: String,
    },
}

/// The names of the built-in templates, for an error that names an unknown one.
fn known() -> String {
    BUILTIN
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A user's replacement for a built-in template.
#[derive(Debug, Clone)]
pub struct TemplateOverride {
    /// Template name, e.g. `write.md`.
    pub name: String,
    /// Where it was read from, for messages.
    pub origin: String,
    /// Its text.
    pub source: String,
}

/// The loaded set of templates.
pub struct Prompts {
    env: Environment<'static>,
    origins: BTreeMap<String, String>,
}

impl std::fmt::Debug for Prompts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prompts")
            .field("origins", &self.origins)
            .finish()
    }
}

impl Prompts {
    /// The embedded templates only.
    pub fn builtin() -> Self {
        Self::with_overrides(Vec::new()).expect("the embedded templates parse (checked by tests)")
    }

    /// The embedded templates, each replaced by its override when one is given.
    pub fn with_overrides(overrides: Vec<TemplateOverride>) -> Result<Self, PromptError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(false);
        let mut origins = BTreeMap::new();
        let mut sources: BTreeMap<String, String> = BTreeMap::new();
        for (name, source) in BUILTIN {
            sources.insert(name.to_string(), source.to_string());
            origins.insert(name.to_string(), format!("prompts/{name} (built in)"));
        }
        for o in overrides {
            if !sources.contains_key(&o.name) {
                return Err(PromptError::UnknownTemplate {
                    origin: o.origin,
                    name: o.name,
                });
            }
            sources.insert(o.name.clone(), o.source);
            origins.insert(o.name, o.origin);
        }
        for (name, source) in sources {
            let origin = origins[&name].clone();
            env.add_template_owned(name, source)
                .map_err(|e| PromptError::Syntax {
                    origin,
                    reason: e.to_string(),
                })?;
        }
        Ok(Self { env, origins })
    }

    /// Renders template `name` with `context`, which must serialize to a map.
    pub fn render<S: Serialize>(&self, name: &str, context: &S) -> Result<String, PromptError> {
        let origin = self
            .origins
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string());
        let template = self
            .env
            .get_template(name)
            .map_err(|e| PromptError::Render {
                origin: origin.clone(),
                reason: e.to_string(),
            })?;
        let value = serde_json::to_value(context).map_err(|e| PromptError::Render {
            origin: origin.clone(),
            reason: e.to_string(),
        })?;
        let keys: Vec<String> = value
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let mut unknown: Vec<String> = template
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| !keys.contains(v) && self.env.globals().all(|(g, _)| g != v.as_str()))
            .collect();
        unknown.sort();
        if let Some(variable) = unknown.into_iter().next() {
            return Err(PromptError::UnknownVariable {
                origin,
                variable,
                available: keys.join(", "),
            });
        }
        template
            .render(value)
            .map(|s| s.trim().to_string())
            .map_err(|e| PromptError::Render {
                origin,
                reason: format!("{e:#}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtins_parse() {
        let _ = Prompts::builtin();
    }

    #[test]
    fn unknown_variable_names_file_and_variable() {
        let prompts = Prompts::with_overrides(vec![TemplateOverride {
            name: "step.md".into(),
            origin: "/home/u/.config/longwriter/prompts/step.md".into(),
            source: "Write {{ sectoin_title }} now".into(),
        }])
        .unwrap();
        let err = prompts
            .render("step.md", &json!({"section_title": "x"}))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("/home/u/.config/longwriter/prompts/step.md"),
            "{text}"
        );
        assert!(text.contains("`sectoin_title`"), "{text}");
    }

    #[test]
    fn syntax_error_names_file() {
        let err = Prompts::with_overrides(vec![TemplateOverride {
            name: "plan.md".into(),
            origin: "my/plan.md".into(),
            source: "{% if %}".into(),
        }])
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("my/plan.md: template syntax error"),
            "{err}"
        );
    }

    #[test]
    fn unknown_template_override_is_refused() {
        let err = Prompts::with_overrides(vec![TemplateOverride {
            name: "plans.md".into(),
            origin: "x".into(),
            source: "hi".into(),
        }])
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("no built-in template called \"plans.md\""),
            "{err}"
        );
    }
}
