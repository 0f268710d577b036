//! The search box's syntax, parsed the same way for both backends (and in the browser):
//!
//! `cat astronaut tag:portrait -tag:nsfw type:video model:sdxl after:2026-01-01
//! before:2026-06-30 by:alice liked:bob within:week "exact phrase"`
//!
//! Bare words must all appear in the title or prompt; a quoted phrase must appear as it is.
//! `tag:` includes a tag and `-tag:` excludes one (both repeatable); `type:` is `image` or
//! `video`; `model:` names a model; `by:` an owner; `liked:` someone who liked the asset;
//! `after:` and `before:` are inclusive dates (`YYYY-MM-DD`); `within:` is `week` or
//! `month`, published in the last 7 or 30 days. Unknown keys and bad values are errors
//! that name the problem.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::{normalize_tags, MediaType};

/// Longest search text accepted.
pub const MAX_QUERY_LEN: usize = 500;
/// Most tags one search may include, and as many again it may exclude.
pub const MAX_SEARCH_TAGS: usize = 20;
/// Longest `tags` or `exclude_tags` field, in bytes (twenty tags of the longest kind).
pub const MAX_TAG_LIST_BYTES: usize = 2048;
/// Longest value of any other filter field (`model`, `owner`, dates, `sort`), in bytes.
pub const MAX_FIELD_BYTES: usize = 256;

/// A parsed search.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Search {
    /// Bare words, lower-cased; each must appear.
    pub words: Vec<String>,
    /// Quoted phrases, as typed; each must appear.
    pub phrases: Vec<String>,
    pub tags: Vec<String>,
    pub exclude_tags: Vec<String>,
    pub media_type: Option<MediaType>,
    pub model: Option<String>,
    pub owner: Option<String>,
    /// Assets this user (a username, lower-cased) likes.
    pub liked_by: Option<String>,
    /// Created on or after this day (UTC).
    pub from: Option<NaiveDate>,
    /// Created on or before this day (UTC).
    pub to: Option<NaiveDate>,
    /// Published within the last week or month (counted back from when the search runs).
    pub period: Option<Period>,
}

/// How far back `within:` (the `period` field) looks: the "this week" of "most liked this
/// week" is what was published in the last seven days, as on comparable galleries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Week,
    Month,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    /// Days it reaches back.
    pub fn days(self) -> i64 {
        match self {
            Period::Week => 7,
            Period::Month => 30,
        }
    }

    /// `week` or `month` (`all`, or nothing, is no period).
    pub fn parse(text: &str) -> Result<Option<Period>, SearchError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "all" => Ok(None),
            "week" => Ok(Some(Period::Week)),
            "month" => Ok(Some(Period::Month)),
            _ => Err(SearchError::BadPeriod(text.trim().to_string())),
        }
    }
}

/// Why a search could not be understood; the message names the offending part.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("unknown search key “{0}:”; use tag:, -tag:, type:, model:, by:, liked:, after:, before: or within:")]
    UnknownKey(String),
    #[error("“{key}:” needs a value, as in {key}:{example}")]
    MissingValue { key: String, example: &'static str },
    #[error("“{0}” is not a date; write dates as YYYY-MM-DD, e.g. 2026-03-01")]
    BadDate(String),
    #[error("type: is image or video, not “{0}”")]
    BadType(String),
    #[error("“after:{after}” is later than “before:{before}”, so nothing can match")]
    EmptyRange { after: NaiveDate, before: NaiveDate },
    #[error("a quotation mark is not closed")]
    UnclosedQuote,
    #[error("the search is longer than {MAX_QUERY_LEN} characters")]
    TooLong,
    #[error("{key}: is given twice (“{first}” and “{second}”)")]
    Repeated {
        key: &'static str,
        first: String,
        second: String,
    },
    #[error("sort is newest, oldest, relevant, liked, viewed, featured or curated, not “{0}”")]
    BadSort(String),
    #[error("the period is week, month or all, not “{0}”")]
    BadPeriod(String),
    #[error("sort=relevant needs words to search for")]
    RelevanceWithoutText,
    #[error("“{key}” is longer than {max} bytes")]
    FieldTooLong { key: &'static str, max: usize },
    #[error("a search may include up to {MAX_SEARCH_TAGS} tags and exclude up to {MAX_SEARCH_TAGS}; {key} names more")]
    TooManyTags { key: &'static str },
}

/// Whether a comma-separated list names more than [`MAX_SEARCH_TAGS`] tags (stops
/// counting there).
fn too_many_tags(list: &str) -> bool {
    list.split(',')
        .filter(|tag| !tag.trim().is_empty())
        .take(MAX_SEARCH_TAGS + 1)
        .count()
        > MAX_SEARCH_TAGS
}

/// How many of the newest matches a relevance sort ranks: ranking every match of a common
/// word would cost what the whole index does, so relevance orders a capped candidate set.
pub const RELEVANCE_CANDIDATES: u32 = 500;

/// The order of results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    #[default]
    Newest,
    Oldest,
    /// Best text match first, among the newest [`RELEVANCE_CANDIDATES`] matches.
    Relevant,
    /// Most liked first (then newest), by the count the database keeps.
    Liked,
    /// Most viewed first (then newest).
    Viewed,
    /// A collection's own order (its owner's and editors' arrangement); only in a
    /// collection.
    Curated,
    /// Only what an admin featured, the most recently featured first.
    Featured,
}

impl Sort {
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Newest => "newest",
            Sort::Oldest => "oldest",
            Sort::Relevant => "relevant",
            Sort::Liked => "liked",
            Sort::Viewed => "viewed",
            Sort::Curated => "curated",
            Sort::Featured => "featured",
        }
    }

    /// Whether the order is by a count the database keeps (likes or views).
    pub fn by_count(self) -> bool {
        matches!(self, Sort::Liked | Sort::Viewed)
    }

    pub fn parse(text: &str) -> Result<Sort, SearchError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "newest" => Ok(Sort::Newest),
            "oldest" => Ok(Sort::Oldest),
            "relevant" | "relevance" => Ok(Sort::Relevant),
            "liked" | "likes" | "most_liked" => Ok(Sort::Liked),
            "viewed" | "views" | "most_viewed" => Ok(Sort::Viewed),
            "curated" => Ok(Sort::Curated),
            "featured" => Ok(Sort::Featured),
            _ => Err(SearchError::BadSort(text.trim().to_string())),
        }
    }
}

/// Text cut into the words both full-text indexes store: runs of letters and digits,
/// lower-cased (`Sci-Fi_city` is `sci`, `fi`, `city`).
pub fn text_tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The gallery's filters as a URL carries them: the page's query string and
/// `GET /api/assets` use the same names and meanings. Empty values mean "not set".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filters {
    /// Search text in the syntax above.
    pub q: String,
    /// Comma-separated tags every result carries.
    pub tags: String,
    /// Comma-separated tags no result carries.
    pub exclude_tags: String,
    /// `image` or `video`.
    #[serde(rename = "type")]
    pub media_type: String,
    pub model: String,
    /// A username.
    pub owner: String,
    /// A username: what they like.
    pub liked: String,
    /// Inclusive dates, `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    /// `week`, `month` or `all` (the default).
    pub period: String,
    /// `newest` (default), `oldest`, `relevant` (needs words), `liked`, `viewed`,
    /// `featured` (only admins' picks) or `curated` (a collection's own order).
    pub sort: String,
    /// A collection (public id): only its items.
    pub collection: String,
    /// A share link's token (URL key `s`), for a collection it opens.
    #[serde(rename = "s")]
    pub share: String,
}

/// The names of [`Filters`]' fields in a URL, in the order links write them.
pub const FILTER_KEYS: [&str; 13] = [
    "q",
    "tags",
    "exclude_tags",
    "type",
    "model",
    "owner",
    "liked",
    "from",
    "to",
    "period",
    "sort",
    "collection",
    "s",
];

impl Filters {
    /// Reads the filters from URL query pairs (unknown keys are ignored).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Filters {
        let mut filters = Filters::default();
        for (key, value) in pairs {
            filters.set(key, value);
        }
        filters
    }

    /// Sets one URL key (unknown keys are ignored).
    pub fn set(&mut self, key: &str, value: &str) {
        if let Some(slot) = self.slot_mut(key) {
            *slot = value.to_string();
        }
    }

    fn slot_mut(&mut self, key: &str) -> Option<&mut String> {
        Some(match key {
            "q" => &mut self.q,
            "tags" => &mut self.tags,
            "exclude_tags" => &mut self.exclude_tags,
            "type" => &mut self.media_type,
            "model" => &mut self.model,
            "owner" => &mut self.owner,
            "liked" => &mut self.liked,
            "from" => &mut self.from,
            "to" => &mut self.to,
            "period" => &mut self.period,
            "sort" => &mut self.sort,
            "collection" => &mut self.collection,
            "s" => &mut self.share,
            _ => return None,
        })
    }

    /// The value of one URL key.
    pub fn get(&self, key: &str) -> &str {
        match key {
            "q" => &self.q,
            "tags" => &self.tags,
            "exclude_tags" => &self.exclude_tags,
            "type" => &self.media_type,
            "model" => &self.model,
            "owner" => &self.owner,
            "liked" => &self.liked,
            "from" => &self.from,
            "to" => &self.to,
            "period" => &self.period,
            "sort" => &self.sort,
            "collection" => &self.collection,
            "s" => &self.share,
            _ => "",
        }
    }

    /// `key=value&…` of the values that are set (no leading `?`; empty when none are).
    pub fn query_string(&self) -> String {
        FILTER_KEYS
            .iter()
            .filter_map(|key| {
                let value = self.get(key).trim();
                (!value.is_empty())
                    .then(|| format!("{key}={}", crate::model::percent_encode(value, false)))
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Whether a field that narrows the results is set (the order, the collection named and
    /// a share token do not narrow them).
    pub fn narrows(&self) -> bool {
        FILTER_KEYS
            .iter()
            .filter(|key| !matches!(**key, "sort" | "collection" | "s"))
            .any(|key| !self.get(key).trim().is_empty())
    }

    /// True when no filter is set.
    pub fn is_empty(&self) -> bool {
        FILTER_KEYS
            .iter()
            .all(|key| self.get(key).trim().is_empty())
    }

    /// Every field within its size, and the tag lists within their count: checked before
    /// anything is parsed, so an oversized URL costs no more than reading it.
    pub fn check_bounds(&self) -> Result<(), SearchError> {
        // Four bytes per character at most: the character count is checked by the parser.
        if self.q.len() > MAX_QUERY_LEN * 4 {
            return Err(SearchError::TooLong);
        }
        for key in FILTER_KEYS {
            let max = match key {
                "q" => continue,
                "tags" | "exclude_tags" => MAX_TAG_LIST_BYTES,
                _ => MAX_FIELD_BYTES,
            };
            if self.get(key).len() > max {
                return Err(SearchError::FieldTooLong { key, max });
            }
        }
        if too_many_tags(&self.tags) {
            return Err(SearchError::TooManyTags { key: "tags" });
        }
        if too_many_tags(&self.exclude_tags) {
            return Err(SearchError::TooManyTags {
                key: "exclude_tags",
            });
        }
        Ok(())
    }

    /// The one search these filters describe: the text's filters and the separate fields
    /// together. A filter given both ways must agree.
    pub fn resolve(&self) -> Result<(Search, Sort), SearchError> {
        self.check_bounds()?;
        let mut search = Search::parse(&self.q)?;
        let list = |text: &str| normalize_tags(text.split(','));
        search.tags = normalize_tags(search.tags.iter().chain(&list(&self.tags)));
        search.exclude_tags =
            normalize_tags(search.exclude_tags.iter().chain(&list(&self.exclude_tags)));
        if search.tags.len() > MAX_SEARCH_TAGS {
            return Err(SearchError::TooManyTags { key: "the search" });
        }
        if search.exclude_tags.len() > MAX_SEARCH_TAGS {
            return Err(SearchError::TooManyTags { key: "the search" });
        }
        let media_type = match self.media_type.trim().to_ascii_lowercase().as_str() {
            "" | "all" | "any" => None,
            "image" | "images" => Some(MediaType::Image),
            "video" | "videos" => Some(MediaType::Video),
            _ => return Err(SearchError::BadType(self.media_type.trim().to_string())),
        };
        search.media_type = agree("type", search.media_type, media_type, |t| {
            t.as_str().to_string()
        })?;
        let text = |value: &str| Some(value.trim().to_string()).filter(|v| !v.is_empty());
        search.model = agree("model", search.model, text(&self.model), Clone::clone)?;
        let owner = text(&self.owner).map(|o| o.to_lowercase());
        search.owner = agree("by", search.owner, owner, Clone::clone)?;
        let liked = text(&self.liked).map(|o| o.to_lowercase());
        search.liked_by = agree("liked", search.liked_by, liked, Clone::clone)?;
        let period = Period::parse(&self.period)?;
        search.period = agree("within", search.period, period, |p| p.as_str().to_string())?;
        let date = |value: &str| text(value).as_deref().map(parse_date).transpose();
        search.from = agree("after", search.from, date(&self.from)?, ToString::to_string)?;
        search.to = agree("before", search.to, date(&self.to)?, ToString::to_string)?;
        if let (Some(after), Some(before)) = (search.from, search.to) {
            if after > before {
                return Err(SearchError::EmptyRange { after, before });
            }
        }
        let sort = Sort::parse(&self.sort)?;
        if sort == Sort::Relevant
            && !search
                .words
                .iter()
                .chain(&search.phrases)
                .any(|w| !text_tokens(w).is_empty())
        {
            return Err(SearchError::RelevanceWithoutText);
        }
        Ok((search, sort))
    }
}

/// One filter given in the text and in its own field: they must say the same.
fn agree<T: PartialEq>(
    key: &'static str,
    from_text: Option<T>,
    from_field: Option<T>,
    show: impl Fn(&T) -> String,
) -> Result<Option<T>, SearchError> {
    match (from_text, from_field) {
        (Some(a), Some(b)) if a != b => Err(SearchError::Repeated {
            key,
            first: show(&a),
            second: show(&b),
        }),
        (a, b) => Ok(a.or(b)),
    }
}

/// A date as the search syntax writes it.
pub fn parse_date(text: &str) -> Result<NaiveDate, SearchError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| SearchError::BadDate(text.trim().to_string()))
}

/// Splits the text into tokens, keeping quoted phrases whole (as `"…"`).
fn tokens(text: &str) -> Result<Vec<String>, SearchError> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                current.push(c);
                if quoted {
                    out.push(std::mem::take(&mut current));
                }
                quoted = !quoted;
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if quoted {
        return Err(SearchError::UnclosedQuote);
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

fn set_once(
    slot: &mut Option<String>,
    key: &'static str,
    value: String,
) -> Result<(), SearchError> {
    match slot {
        Some(first) if *first != value => Err(SearchError::Repeated {
            key,
            first: first.clone(),
            second: value,
        }),
        _ => {
            *slot = Some(value);
            Ok(())
        }
    }
}

impl Search {
    /// Parses the search box's text.
    pub fn parse(text: &str) -> Result<Search, SearchError> {
        if text.chars().count() > MAX_QUERY_LEN {
            return Err(SearchError::TooLong);
        }
        let mut search = Search::default();
        let (mut model, mut owner) = (None::<String>, None::<String>);
        let (mut liked, mut within) = (None::<String>, None::<String>);
        let (mut after, mut before) = (None::<String>, None::<String>);
        let mut media = None::<String>;
        for token in tokens(text)? {
            if let Some(phrase) = token.strip_prefix('"') {
                let phrase = phrase.trim_end_matches('"').trim();
                if !phrase.is_empty() && !search.phrases.iter().any(|p| p == phrase) {
                    search.phrases.push(phrase.to_string());
                }
                continue;
            }
            // `word:` is a key; a time (12:30) or a URL (https://…) is just text.
            let Some((key, value)) = token.split_once(':').filter(|(k, v)| {
                !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
                    && !v.starts_with("//")
            }) else {
                let word = token.to_lowercase();
                if !search.words.contains(&word) {
                    search.words.push(word);
                }
                continue;
            };
            let key = key.to_ascii_lowercase();
            let value = value.trim().trim_matches('"').trim();
            let example = match key.as_str() {
                "tag" | "-tag" => "portrait",
                "type" => "video",
                "model" => "sdxl",
                "by" | "liked" => "alice",
                "after" | "before" => "2026-01-01",
                "within" => "week",
                _ => return Err(SearchError::UnknownKey(key)),
            };
            if value.is_empty() {
                return Err(SearchError::MissingValue { key, example });
            }
            match key.as_str() {
                "tag" => search.tags.extend(normalize_tags([value])),
                "-tag" => search.exclude_tags.extend(normalize_tags([value])),
                "type" => set_once(&mut media, "type", value.to_ascii_lowercase())?,
                "model" => set_once(&mut model, "model", value.to_string())?,
                "by" => set_once(&mut owner, "by", value.to_lowercase())?,
                "liked" => set_once(&mut liked, "liked", value.to_lowercase())?,
                "within" => set_once(&mut within, "within", value.to_ascii_lowercase())?,
                "after" => set_once(&mut after, "after", value.to_string())?,
                _ => set_once(&mut before, "before", value.to_string())?,
            }
        }
        search.tags = normalize_tags(&search.tags);
        search.exclude_tags = normalize_tags(&search.exclude_tags);
        if search.tags.len() > MAX_SEARCH_TAGS || search.exclude_tags.len() > MAX_SEARCH_TAGS {
            return Err(SearchError::TooManyTags {
                key: "the search text",
            });
        }
        search.media_type = match media.as_deref() {
            None => None,
            Some("image" | "images") => Some(MediaType::Image),
            Some("video" | "videos") => Some(MediaType::Video),
            Some(other) => return Err(SearchError::BadType(other.to_string())),
        };
        search.model = model;
        search.owner = owner;
        search.liked_by = liked;
        search.period = match within.as_deref() {
            None => None,
            Some(text) => Period::parse(text)?,
        };
        search.from = after.as_deref().map(parse_date).transpose()?;
        search.to = before.as_deref().map(parse_date).transpose()?;
        if let (Some(after), Some(before)) = (search.from, search.to) {
            if after > before {
                return Err(SearchError::EmptyRange { after, before });
            }
        }
        Ok(search)
    }

    /// True when nothing narrows the results.
    pub fn is_empty(&self) -> bool {
        *self == Search::default()
    }

    /// Which kinds of filter the search sets, e.g. `words,tags,type` (for usage events:
    /// what people filter by, never what they typed).
    pub fn used_filters(&self) -> String {
        let used = [
            ("words", !self.words.is_empty()),
            ("phrases", !self.phrases.is_empty()),
            ("tags", !self.tags.is_empty()),
            ("exclude_tags", !self.exclude_tags.is_empty()),
            ("type", self.media_type.is_some()),
            ("model", self.model.is_some()),
            ("owner", self.owner.is_some()),
            ("liked", self.liked_by.is_some()),
            ("from", self.from.is_some()),
            ("to", self.to.is_some()),
            ("period", self.period.is_some()),
        ];
        used.iter()
            .filter(|(_, on)| *on)
            .map(|(name, _)| *name)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The search as the box would show it: parsing it gives this search back.
    pub fn to_text(&self) -> String {
        let mut parts: Vec<String> = self.words.clone();
        parts.extend(self.phrases.iter().map(|p| format!("\"{p}\"")));
        parts.extend(self.tags.iter().map(|t| format!("tag:{}", quote_free(t))));
        parts.extend(
            self.exclude_tags
                .iter()
                .map(|t| format!("-tag:{}", quote_free(t))),
        );
        if let Some(t) = self.media_type {
            parts.push(format!("type:{}", t.as_str()));
        }
        if let Some(m) = &self.model {
            parts.push(format!("model:{}", quote_free(m)));
        }
        if let Some(o) = &self.owner {
            parts.push(format!("by:{o}"));
        }
        if let Some(l) = &self.liked_by {
            parts.push(format!("liked:{l}"));
        }
        if let Some(d) = self.from {
            parts.push(format!("after:{d}"));
        }
        if let Some(d) = self.to {
            parts.push(format!("before:{d}"));
        }
        if let Some(p) = self.period {
            parts.push(format!("within:{}", p.as_str()));
        }
        parts.join(" ")
    }
}

/// A value for `key:value`: quoted when it holds white space (`tag:"neon city"`).
fn quote_free(value: &str) -> String {
    if value.contains(char::is_whitespace) {
        format!("\"{value}\"")
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_in_fields_join_the_text_and_must_agree_with_it() {
        let filters = Filters {
            q: "cyberpunk tag:portrait type:video".into(),
            tags: "Neon, portrait".into(),
            exclude_tags: "nsfw".into(),
            media_type: "video".into(),
            from: "2026-03-01".into(),
            sort: "oldest".into(),
            ..Filters::default()
        };
        let (search, sort) = filters.resolve().expect("resolves");
        assert_eq!(search.words, ["cyberpunk"]);
        assert_eq!(search.tags, ["portrait", "neon"]);
        assert_eq!(search.exclude_tags, ["nsfw"]);
        assert_eq!(search.media_type, Some(MediaType::Video));
        assert_eq!(search.from, Some(date("2026-03-01")));
        assert_eq!(sort, Sort::Oldest);

        let clash = Filters {
            q: "type:video".into(),
            media_type: "image".into(),
            ..Filters::default()
        };
        let err = clash.resolve().expect_err("two types");
        assert_eq!(
            err.to_string(),
            "type: is given twice (“video” and “image”)"
        );
        for (filters, message) in [
            (
                Filters {
                    sort: "best".into(),
                    ..Filters::default()
                },
                "sort is newest, oldest, relevant, liked, viewed, featured or curated",
            ),
            (
                Filters {
                    sort: "relevant".into(),
                    q: "tag:x".into(),
                    ..Filters::default()
                },
                "needs words",
            ),
            (
                Filters {
                    media_type: "gif".into(),
                    ..Filters::default()
                },
                "not “gif”",
            ),
            (
                Filters {
                    to: "June".into(),
                    ..Filters::default()
                },
                "“June” is not a date",
            ),
            (
                Filters {
                    from: "2026-02-01".into(),
                    q: "before:2026-01-01".into(),
                    ..Filters::default()
                },
                "later than",
            ),
        ] {
            let err = filters.resolve().expect_err(message);
            assert!(err.to_string().contains(message), "{err}");
        }
    }

    #[test]
    fn filters_round_trip_through_a_query_string() {
        let filters = Filters {
            q: "cat \"neon city\" & more".into(),
            tags: "a,b c".into(),
            media_type: "image".into(),
            ..Filters::default()
        };
        let text = filters.query_string();
        assert!(
            text.starts_with("q=cat%20%22neon%20city%22%20%26%20more&tags=a%2Cb%20c&type=image"),
            "{text}"
        );
        assert!(Filters::default().query_string().is_empty());
        assert!(Filters::default().is_empty() && !filters.is_empty());
        let pairs = [("type", "video"), ("cursor", "x"), ("q", "moon")];
        let read = Filters::from_pairs(pairs);
        assert_eq!(
            (read.media_type.as_str(), read.q.as_str()),
            ("video", "moon")
        );
    }

    #[test]
    fn text_is_cut_into_the_words_the_indexes_store() {
        assert_eq!(
            text_tokens("Sci-Fi_city, 1girl  Café"),
            ["sci", "fi", "city", "1girl", "café"]
        );
        assert!(text_tokens("!!! --").is_empty());
    }

    fn date(text: &str) -> NaiveDate {
        parse_date(text).expect("date")
    }

    #[test]
    fn the_example_from_the_search_box_parses_into_every_filter() {
        let search = Search::parse(
            "cat astronaut tag:portrait -tag:nsfw type:video model:sdxl after:2026-01-01 \
             before:2026-06-30 by:alice liked:Bob within:week \"exact phrase\"",
        )
        .expect("parses");
        assert_eq!(search.words, ["cat", "astronaut"]);
        assert_eq!(search.phrases, ["exact phrase"]);
        assert_eq!(search.tags, ["portrait"]);
        assert_eq!(search.exclude_tags, ["nsfw"]);
        assert_eq!(search.media_type, Some(MediaType::Video));
        assert_eq!(search.model.as_deref(), Some("sdxl"));
        assert_eq!(search.owner.as_deref(), Some("alice"));
        assert_eq!(search.from, Some(date("2026-01-01")));
        assert_eq!(search.to, Some(date("2026-06-30")));
        assert_eq!(search.liked_by.as_deref(), Some("bob"));
        assert_eq!(search.period, Some(Period::Week));
        assert_eq!(Search::parse(&search.to_text()), Ok(search));
    }

    #[test]
    fn likes_views_and_periods_are_sorts_and_filters_with_named_mistakes() {
        let filters = Filters {
            liked: "Ada".into(),
            period: "month".into(),
            sort: "liked".into(),
            ..Filters::default()
        };
        let (search, sort) = filters.resolve().expect("resolves");
        assert_eq!(
            (search.liked_by.as_deref(), search.period, sort),
            (Some("ada"), Some(Period::Month), Sort::Liked)
        );
        assert!(sort.by_count() && Sort::Viewed.by_count() && !Sort::Newest.by_count());
        assert_eq!(Sort::parse("most_viewed"), Ok(Sort::Viewed));
        assert_eq!(Period::parse("all"), Ok(None));
        assert_eq!(
            Filters {
                period: "year".into(),
                ..Filters::default()
            }
            .resolve()
            .map(|_| ())
            .unwrap_err()
            .to_string(),
            "the period is week, month or all, not “year”"
        );
        // Given in the text and in the field, they must agree.
        let clash = Filters {
            q: "within:week".into(),
            period: "month".into(),
            ..Filters::default()
        };
        assert!(matches!(
            clash.resolve(),
            Err(SearchError::Repeated { key: "within", .. })
        ));
        assert_eq!(
            Search::parse("within:").map(|_| ()),
            Err(SearchError::MissingValue {
                key: "within".into(),
                example: "week"
            })
        );
        let query = Filters {
            liked: "ada".into(),
            period: "week".into(),
            ..Filters::default()
        };
        assert_eq!(query.query_string(), "liked=ada&period=week");
        assert!(query.narrows());
        // An order, a collection and a share token narrow nothing.
        let plain = Filters {
            sort: "liked".into(),
            collection: "Abcdefghijkl".into(),
            share: "token".into(),
            ..Filters::default()
        };
        assert!(!plain.narrows());
    }

    #[test]
    fn words_and_tags_are_normalised_and_kept_once() {
        let search = Search::parse("  Cat cat TAG:Portrait tag:portrait  ").expect("parses");
        assert_eq!(search.words, ["cat"]);
        assert_eq!(search.tags, ["portrait"]);
        assert!(Search::parse("").expect("empty").is_empty());
        // Values with spaces are quoted, and come back the same.
        let search = Search::parse("tag:\"neon city\" model:\"Flux 1 dev\"").expect("parses");
        assert_eq!(search.tags, ["neon city"]);
        assert_eq!(search.model.as_deref(), Some("Flux 1 dev"));
        assert_eq!(Search::parse(&search.to_text()), Ok(search));
        // A colon inside a word that is not a key is just text (a time, a URL).
        let search = Search::parse("12:30 https://x.test").expect("parses");
        assert_eq!(search.words, ["12:30", "https://x.test"]);
    }

    #[test]
    fn mistakes_are_named_not_turned_into_empty_results() {
        let cases = [
            ("colour:red", "unknown search key “colour:”"),
            ("after:2026-13-01", "“2026-13-01” is not a date"),
            ("after:yesterday", "write dates as YYYY-MM-DD"),
            ("type:gif", "type: is image or video, not “gif”"),
            ("tag:", "“tag:” needs a value"),
            ("\"open quote", "not closed"),
            (
                "after:2026-06-01 before:2026-01-01",
                "later than “before:2026-01-01”",
            ),
            ("by:alice by:bob", "by: is given twice"),
        ];
        for (text, message) in cases {
            let err = Search::parse(text).expect_err(text);
            assert!(err.to_string().contains(message), "{text}: {err}");
        }
        assert_eq!(
            Search::parse(&"x".repeat(MAX_QUERY_LEN + 1)),
            Err(SearchError::TooLong)
        );
    }

    #[test]
    fn oversized_filters_are_refused_before_they_are_parsed() {
        // The attack: one URL naming sixteen thousand tags.
        let names: Vec<String> = (0..16_000).map(|n| format!("t{n}")).collect();
        let bomb = Filters {
            tags: names.join(","),
            ..Filters::default()
        };
        assert_eq!(
            bomb.resolve(),
            Err(SearchError::FieldTooLong {
                key: "tags",
                max: MAX_TAG_LIST_BYTES
            })
        );
        let many_short = Filters {
            exclude_tags: names[..MAX_SEARCH_TAGS + 1].join(","),
            ..Filters::default()
        };
        let err = many_short.resolve().expect_err("21 tags");
        assert_eq!(
            err,
            SearchError::TooManyTags {
                key: "exclude_tags"
            }
        );
        assert!(err.to_string().contains("exclude up to 20"), "{err}");
        // Twenty is allowed, also when some come from the text and some from the field.
        let twenty = Filters {
            q: format!(
                "{} cat",
                names[..5]
                    .iter()
                    .map(|t| format!("tag:{t}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            tags: names[5..MAX_SEARCH_TAGS].join(","),
            ..Filters::default()
        };
        assert_eq!(twenty.resolve().expect("twenty tags").0.tags.len(), 20);
        let twenty_one = Filters {
            tags: format!("{},extra", twenty.tags),
            ..twenty.clone()
        };
        assert!(matches!(
            twenty_one.resolve(),
            Err(SearchError::TooManyTags { .. })
        ));
        let long_model = Filters {
            model: "m".repeat(MAX_FIELD_BYTES + 1),
            ..Filters::default()
        };
        assert_eq!(
            long_model.resolve(),
            Err(SearchError::FieldTooLong {
                key: "model",
                max: MAX_FIELD_BYTES
            })
        );
        let long_text = Filters {
            q: "é".repeat(MAX_QUERY_LEN * 2 + 1),
            ..Filters::default()
        };
        assert_eq!(long_text.resolve(), Err(SearchError::TooLong));
    }
}
