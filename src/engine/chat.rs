//! Chat templates: a conversation becomes the prompt text the model was trained on. The GGUF's
//! own `tokenizer.chat_template` (Jinja) is rendered with minijinja when present; otherwise a
//! built-in template for the family (Gemma, Llama 3, Llama 2, GLM-4, ChatML), or the one the
//! user names. Pure.

use crate::backend::{ChatMessage, Role};
use crate::engine::gguf::GgufFile;

/// Everything that can go wrong rendering a template.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// The name is not a built-in template.
    #[error("unknown chat template {0:?} (built in: gemma, llama3, llama2, glm4, chatml; or none for a base model)")]
    UnknownName(String),
    /// The Jinja template failed.
    #[error("the model's chat template failed: {0}; pass --chat-template with a built-in name")]
    Jinja(String),
}

/// A way of turning messages into a prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatTemplate {
    /// A Jinja template, usually the GGUF's own.
    Jinja {
        /// The template source.
        source: String,
        /// Text of the BOS token, for `{{ bos_token }}`.
        bos: String,
        /// Text of the EOS token, for `{{ eos_token }}`.
        eos: String,
    },
    /// `<start_of_turn>user ... <end_of_turn>`; no system role.
    Gemma,
    /// `<|start_header_id|>role<|end_header_id|>`.
    Llama3,
    /// `[INST] ... [/INST]`.
    Llama2,
    /// `[gMASK]<sop><|user|>`.
    Glm4,
    /// `<|im_start|>role`.
    ChatMl,
}

impl ChatTemplate {
    /// A built-in template by name.
    pub fn by_name(name: &str) -> Result<Self, ChatError> {
        Ok(match name {
            "gemma" | "gemma3" => Self::Gemma,
            "llama3" => Self::Llama3,
            "llama2" => Self::Llama2,
            "glm4" => Self::Glm4,
            "chatml" | "qwen" => Self::ChatMl,
            other => return Err(ChatError::UnknownName(other.to_string())),
        })
    }

    /// The file's own template, or the family's built-in one.
    pub fn from_gguf(gguf: &GgufFile) -> Self {
        let token = |key: &str| {
            let id = gguf.get_u32(key)? as usize;
            let (_, tokens) = gguf.get_array("tokenizer.ggml.tokens")?;
            tokens.get(id)?.as_str().map(str::to_string)
        };
        if let Some(source) = gguf.get_str("tokenizer.chat_template") {
            return Self::Jinja {
                source: source.to_string(),
                bos: token("tokenizer.ggml.bos_token_id").unwrap_or_default(),
                eos: token("tokenizer.ggml.eos_token_id").unwrap_or_default(),
            };
        }
        let arch = gguf.architecture().unwrap_or_default();
        match arch {
            a if a.starts_with("gemma") => Self::Gemma,
            a if a.starts_with("qwen") => Self::ChatMl,
            a if a.starts_with("glm") || a.starts_with("chatglm") => Self::Glm4,
            "llama" if gguf.get_str("tokenizer.ggml.model") == Some("gpt2") => Self::Llama3,
            "llama" => Self::Llama2,
            _ => Self::ChatMl,
        }
    }

    /// The prompt for `messages`, ending where the assistant's answer begins.
    pub fn render(&self, messages: &[ChatMessage]) -> Result<String, ChatError> {
        let mut out = String::new();
        match self {
            Self::Jinja { source, bos, eos } => return render_jinja(source, bos, eos, messages),
            Self::Gemma => {
                for (role, text) in merge_system(messages) {
                    let role = if role == Role::Assistant {
                        "model"
                    } else {
                        "user"
                    };
                    out += &format!("<start_of_turn>{role}\n{}<end_of_turn>\n", text.trim());
                }
                out += "<start_of_turn>model\n";
            }
            Self::Llama3 => {
                out += "<|begin_of_text|>";
                for m in messages {
                    out += &format!(
                        "<|start_header_id|>{}<|end_header_id|>\n\n{}<|eot_id|>",
                        role_name(m.role),
                        m.content.trim()
                    );
                }
                out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
            }
            Self::Llama2 => {
                for (role, text) in merge_system(messages) {
                    match role {
                        Role::Assistant => out += &format!(" {} </s>", text.trim()),
                        _ => out += &format!("<s>[INST] {} [/INST]", text.trim()),
                    }
                }
            }
            Self::Glm4 => {
                out += "[gMASK]<sop>";
                for m in messages {
                    out += &format!("<|{}|>\n{}", role_name(m.role), m.content);
                }
                out += "<|assistant|>";
            }
            Self::ChatMl => {
                for m in messages {
                    out += &format!(
                        "<|im_start|>{}\n{}<|im_end|>\n",
                        role_name(m.role),
                        m.content
                    );
                }
                out += "<|im_start|>assistant\n";
            }
        }
        Ok(out)
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// Folds system messages into the next user turn, as llama.cpp does for templates without a
/// system role.
fn merge_system(messages: &[ChatMessage]) -> Vec<(Role, String)> {
    let mut out = Vec::new();
    let mut system = String::new();
    for m in messages {
        match m.role {
            Role::System => {
                system += &m.content;
                system += "\n\n";
            }
            Role::User => out.push((Role::User, std::mem::take(&mut system) + &m.content)),
            Role::Assistant => out.push((Role::Assistant, m.content.clone())),
        }
    }
    if !system.is_empty() {
        out.push((Role::User, system));
    }
    out
}

fn render_jinja(
    source: &str,
    bos: &str,
    eos: &str,
    messages: &[ChatMessage],
) -> Result<String, ChatError> {
    let mut env = minijinja::Environment::new();
    env.add_function(
        "raise_exception",
        |msg: String| -> Result<String, minijinja::Error> {
            Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                msg,
            ))
        },
    );
    env.add_template("chat", source)
        .map_err(|e| ChatError::Jinja(e.to_string()))?;
    let tmpl = env
        .get_template("chat")
        .map_err(|e| ChatError::Jinja(e.to_string()))?;
    let messages: Vec<_> = messages
        .iter()
        .map(|m| minijinja::context! { role => role_name(m.role), content => m.content })
        .collect();
    tmpl.render(minijinja::context! {
        messages => messages,
        add_generation_prompt => true,
        bos_token => bos,
        eos_token => eos,
    })
    .map_err(|e| ChatError::Jinja(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemma_merges_the_system_message_into_the_first_turn() {
        let msgs = [
            ChatMessage {
                role: Role::System,
                content: "Be brief.".into(),
            },
            ChatMessage::user("Hi"),
            ChatMessage::assistant("Hello"),
            ChatMessage::user("Bye"),
        ];
        assert_eq!(
            ChatTemplate::Gemma.render(&msgs).unwrap(),
            "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"
        );
    }

    #[test]
    fn jinja_templates_render_and_names_resolve() {
        let t = ChatTemplate::Jinja {
            source: "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}".into(),
            bos: "<s>".into(),
            eos: "</s>".into(),
        };
        assert_eq!(
            t.render(&[ChatMessage::user("x")]).unwrap(),
            "<s><user>x<assistant>"
        );
        assert_eq!(
            ChatTemplate::by_name("chatml").unwrap(),
            ChatTemplate::ChatMl
        );
        assert!(ChatTemplate::by_name("nope")
            .unwrap_err()
            .to_string()
            .contains("gemma"));
        assert!(ChatTemplate::Llama3
            .render(&[ChatMessage::user("x")])
            .unwrap()
            .ends_with("assistant<|end_header_id|>\n\n"));
    }
}
