//! Context word lists for the length extractor.
//!
//! Each list is a set of lower-cased English phrases and Chinese words the
//! extractor looks for around a number: units' neighbours, hedges, totals,
//! target verbs, source-material markers, length keys, range separators and
//! item classifiers. Kept apart so the rules in `length.rs` stay readable.

/// Chars a Chinese item count can be followed by (`五篇`, `两部分`, `三个`).
pub(crate) const CLASSIFIERS: &str = "个篇章节段首封部幕集回则条天份位场组类种点题道期课讲周页张";
/// Nouns after an English number that make it a measure, not an item count.
pub(crate) const NOT_ITEMS: [&str; 12] = [
    "years", "year", "percent", "am", "pm", "words", "word", "pages", "page", "hours", "minutes",
    "seconds",
];
/// Hedges that precede a requested length.
pub(crate) const HEDGES_BEFORE: [&str; 22] = [
    "不少于",
    "不低于",
    "至少",
    "不超过",
    "不多于",
    "最少",
    "最多",
    "大约",
    "大概",
    "约",
    "控制在",
    "approximately",
    "about",
    "around",
    "at least",
    "no less than",
    "no fewer than",
    "more than",
    "within",
    "up to",
    "roughly",
    "in ",
];
/// Hedges that follow a requested length.
pub(crate) const HEDGES_AFTER: [&str; 10] = [
    "左右", "以上", "以内", "以下", "上下", "or more", "or so", "minimum", "at least", "+",
];
/// Marks of a whole-output total before the number.
pub(crate) const TOTALS_BEFORE: [&str; 14] = [
    "共",
    "总计",
    "合计",
    "全文",
    "总字数",
    "整篇",
    "全篇",
    "in total",
    "total",
    "altogether",
    "overall",
    "entire",
    "whole",
    "combined",
];
/// Marks of a whole-output total after the unit.
pub(crate) const TOTALS_AFTER: [&str; 5] =
    ["in total", "total", "altogether", "in all", "combined"];
/// Verbs that name the length of the text to produce.
pub(crate) const TARGET_VERBS: [&str; 17] = [
    "扩写",
    "扩展",
    "扩充",
    "改写",
    "缩写",
    "压缩",
    "总结",
    "概括",
    "精简",
    "expand",
    "extend",
    "summarize",
    "summarise",
    "condense",
    "shorten",
    "rewrite",
    "lengthen",
];
/// Words right before a number that point at existing material.
pub(crate) const SOURCE_MARKS: [&str; 15] = [
    "以下",
    "下面",
    "上面",
    "上述",
    "这篇",
    "该",
    "原文",
    "已有",
    "this ",
    "following",
    "above",
    "attached",
    "original",
    "existing",
    "given",
];
/// Keys that make a bare number a length (`字数：2000`).
pub(crate) const LENGTH_KEYS: [&str; 6] = [
    "字数",
    "篇幅",
    "word count",
    "word limit",
    "number of words",
    "length",
];
/// Separators of a range's bounds.
pub(crate) const RANGE_SEPARATORS: [&str; 10] =
    ["至", "到", "-", "–", "—", "~", "～", "〜", "to", "and"];
