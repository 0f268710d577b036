//! Types shared by the server and the browser: what the API returns and the pages render.

use chrono::{DateTime, Utc};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};

/// Page size used when a request does not ask for one.
pub const DEFAULT_PAGE_SIZE: u32 = 24;
/// The largest page a client may ask for.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Tags longer than this are cut; longer ones are almost always pasted prompts.
pub const MAX_TAG_LEN: usize = 64;

/// What an asset is. Stored as the seed's small integer (`0` image, `1` video).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    Image,
    Video,
}

impl MediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Image => "image",
            MediaType::Video => "video",
        }
    }

    /// The code stored in `assets.media_type`.
    pub fn code(self) -> i16 {
        match self {
            MediaType::Image => 0,
            MediaType::Video => 1,
        }
    }

    pub fn from_code(code: i16) -> Option<Self> {
        match code {
            0 => Some(MediaType::Image),
            1 => Some(MediaType::Video),
            _ => None,
        }
    }
}

/// One asset as the gallery shows it (`GET /api/assets` items).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssetSummary {
    /// Opaque public id, used in every URL.
    pub id: String,
    pub title: String,
    pub prompt: String,
    pub media_type: MediaType,
    /// The owner's username.
    pub owner: String,
    pub tags: Vec<String>,
    pub model: Option<String>,
    pub created_at: DateTime<Utc>,
    /// A still image for the gallery (the image itself, or a video's poster), 512 px.
    pub thumb_url: Option<String>,
    /// The same still at 1024 px (for `srcset`, the lightbox and the asset page).
    pub preview_url: Option<String>,
    /// Intrinsic size of the media, so the gallery can reserve its box before it loads.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Length of a video in milliseconds.
    pub duration_ms: Option<u32>,
    pub visibility: Visibility,
    /// People who like it.
    #[serde(default)]
    pub likes: u64,
    /// Views by people other than its owner, each viewer once a day.
    #[serde(default)]
    pub views: u64,
    /// Whoever is asking likes it.
    #[serde(default)]
    pub liked: bool,
    /// When an admin featured it, if one did.
    #[serde(default)]
    pub featured: Option<DateTime<Utc>>,
}

/// What `POST /api/assets/like` answers: whether the person likes the asset now, and how
/// many people do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LikeDone {
    pub id: String,
    pub liked: bool,
    pub likes: u64,
}

/// One page of assets, in the order asked for, and the cursor of the next page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssetPage {
    pub items: Vec<AssetSummary>,
    pub next_cursor: Option<String>,
}

/// One version of an asset's editable fields (`GET /api/asset/revisions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetVersion {
    pub title: String,
    pub prompt: String,
    pub negative_prompt: String,
    pub model: Option<String>,
    pub tags: Vec<String>,
    pub visibility: Visibility,
}

/// A short field an edit changed: what it was and what it became (`""`: nothing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub from: String,
    pub to: String,
}

/// One edit of an asset, as its history shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionView {
    /// Counts the asset's edits from 1; "restore" names it.
    pub number: u32,
    pub at: DateTime<Utc>,
    /// Who edited; `None` once their account is gone.
    pub editor: Option<String>,
    /// The fields the edit changed (`title`, `prompt`, `negative_prompt`, `model`, `tags`,
    /// `visibility`).
    pub fields: Vec<String>,
    /// Title, model and visibility, before and after, where they changed.
    pub changes: Vec<FieldChange>,
    /// The prompt's words before against after, where it changed.
    pub prompt_diff: Option<Vec<crate::diff::DiffPart>>,
    pub negative_diff: Option<Vec<crate::diff::DiffPart>>,
    pub tags_added: Vec<String>,
    pub tags_removed: Vec<String>,
}

/// An asset's fields now and its edits, newest first (`GET /api/asset/revisions`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetHistory {
    pub current: AssetVersion,
    pub revisions: Vec<RevisionView>,
}

/// Assets a page of `/trash` shows at most ([`TrashPage`]).
pub const TRASH_PAGE: u32 = 60;

/// One asset in its owner's trash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrashItem {
    pub asset: AssetSummary,
    pub trashed_at: DateTime<Utc>,
    /// When the background purge deletes it for good (`trash_days` after it was trashed).
    pub purge_at: DateTime<Utc>,
}

/// A page of one's trash, most recently trashed first (`GET /api/trash`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrashPage {
    pub items: Vec<TrashItem>,
    pub next_cursor: Option<String>,
    /// Days a trashed asset is kept (the `trash_days` setting).
    pub trash_days: u32,
}

/// What emptying the trash did (`POST /api/trash/empty`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmptiedTrash {
    pub purged: u32,
    /// Still in the trash: more than one request deletes ([`crate::model::EMPTY_TRASH_MAX`]).
    pub remaining: u32,
}

/// Assets one "Empty trash" deletes at most; the rest wait for the next one.
pub const EMPTY_TRASH_MAX: u32 = 1_000;

/// How the results of a search divide up (`GET /api/facets`), counted over its newest
/// [`FACET_SAMPLE`] matches so that the count stays cheap at any size.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facets {
    /// Matches counted: all of them, or [`FACET_SAMPLE`] when `more` is set.
    pub counted: u32,
    /// There are more matches than were counted.
    pub more: bool,
    /// `image` and `video`, most first (a type with no matches is left out).
    pub types: Vec<FacetCount>,
    /// The most common tags, most first (ties by name).
    pub tags: Vec<FacetCount>,
    /// The most common models (ignoring case), most first (ties by name).
    pub models: Vec<FacetCount>,
}

/// One value of a facet and how many of the counted matches have it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetCount {
    pub value: String,
    pub count: u32,
}

/// How many of a search's newest matches its facets count.
pub const FACET_SAMPLE: u32 = 1_000;
/// How many tags a facet lists.
pub const FACET_TAGS: u32 = 10;
/// How many models a facet lists.
pub const FACET_MODELS: u32 = 5;

/// A user's profile summary (`GET /api/profile`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub username: String,
    pub member_since: DateTime<Utc>,
    /// Images and videos the viewer can see listed: public ones, and unlisted and private
    /// ones too on one's own profile.
    pub images: u64,
    pub videos: u64,
    /// How many of those are unlisted; only on one's own profile.
    pub unlisted: Option<u64>,
    /// How many of those are private; only on one's own profile.
    pub private: Option<u64>,
    /// The profile is the viewer's own.
    pub is_me: bool,
    /// Views of their assets by other people.
    pub views_received: u64,
    /// Storage their uploads take and their quota; only on one's own profile.
    pub storage: Option<StorageUse>,
}

/// Bytes of originals a user's assets hold, against their quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageUse {
    pub used: u64,
    pub quota: u64,
}

/// Everything the asset page shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AssetDetail {
    #[serde(flatten)]
    pub summary: AssetSummary,
    /// The original file, when one is stored.
    pub media_url: Option<String>,
    pub mime_type: Option<String>,
    pub byte_size: Option<u64>,
    pub negative_prompt: String,
    /// The name of the file as it was uploaded.
    pub original_filename: Option<String>,
    /// What the file said about how it was made, when atelier understood it.
    pub generation: Option<Generation>,
    /// The file carried generation metadata (understood or not).
    pub raw_metadata_present: bool,
    /// What of the file's metadata was over atelier's limits and not kept, in words
    /// (e.g. `“workflow” (over the 256 KiB one text may take)`); `None` when everything
    /// was kept.
    #[serde(default)]
    pub metadata_dropped: Option<String>,
    /// The processing job (thumbnails, poster) and how it went.
    pub job: Option<JobInfo>,
    /// The asset belongs to whoever is asking (they may retry its job).
    #[serde(default)]
    pub is_mine: bool,
    /// The viewer may delete it (their own, or they are an admin).
    #[serde(default)]
    pub can_delete: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Lora {
    pub name: String,
    pub weight: Option<f64>,
}

/// Longest prompt or negative prompt kept from a file's metadata, in bytes (UTF-8); the
/// upload form's own prompt limit is [`crate::upload::MAX_PROMPT_LEN`] characters.
pub const MAX_GENERATION_PROMPT: usize = 20_000;
/// Longest tool, model, sampler or LoRA name kept from a file's metadata, in bytes.
pub const MAX_GENERATION_NAME: usize = 200;
/// Most LoRAs kept from a file's metadata.
pub const MAX_GENERATION_LORAS: usize = 32;

/// `text` cut to at most `max` bytes, on a character boundary; whether it was cut.
pub fn truncate_on_char(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    true
}

/// What a file says about how it was generated, as far as atelier understands it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// Which tool's format was recognised: `a1111`, `comfyui`, `invokeai`, `novelai`,
    /// `fooocus`; `None` when raw metadata is present but not understood.
    pub tool: Option<String>,
    pub prompt: Option<String>,
    pub negative_prompt: Option<String>,
    pub model: Option<String>,
    pub sampler: Option<String>,
    pub steps: Option<u32>,
    pub cfg: Option<f64>,
    pub seed: Option<u64>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub loras: Vec<Lora>,
}

impl Generation {
    /// The same generation within atelier's limits: each text cut to its limit on a
    /// character boundary ([`MAX_GENERATION_PROMPT`], [`MAX_GENERATION_NAME`]), at most
    /// [`MAX_GENERATION_LORAS`] LoRAs, numbers that are not finite dropped. Also says, in
    /// words, what was cut (empty when nothing was).
    pub fn bounded(mut self) -> (Generation, Vec<String>) {
        let mut cut = Vec::new();
        let mut text = |value: &mut Option<String>, max: usize, name: &str| {
            if let Some(value) = value {
                if truncate_on_char(value, max) {
                    let max = crate::units::thousands(max as u64);
                    cut.push(format!("the {name} past its first {max} bytes"));
                }
            }
        };
        text(&mut self.tool, MAX_GENERATION_NAME, "tool name");
        text(&mut self.prompt, MAX_GENERATION_PROMPT, "prompt");
        text(
            &mut self.negative_prompt,
            MAX_GENERATION_PROMPT,
            "negative prompt",
        );
        text(&mut self.model, MAX_GENERATION_NAME, "model name");
        text(&mut self.sampler, MAX_GENERATION_NAME, "sampler name");
        if self.loras.len() > MAX_GENERATION_LORAS {
            cut.push(format!(
                "{} LoRAs past the first {MAX_GENERATION_LORAS}",
                self.loras.len() - MAX_GENERATION_LORAS
            ));
            self.loras.truncate(MAX_GENERATION_LORAS);
        }
        let mut long_names = 0;
        for lora in &mut self.loras {
            long_names += usize::from(truncate_on_char(&mut lora.name, MAX_GENERATION_NAME));
            lora.weight = lora.weight.filter(|w| w.is_finite());
        }
        if long_names > 0 {
            cut.push(format!(
                "{long_names} LoRA names past their first {MAX_GENERATION_NAME} bytes"
            ));
        }
        self.cfg = self.cfg.filter(|c| c.is_finite());
        (self, cut)
    }
}

/// The file extension served for a MIME type we store.
pub fn extension_for_mime(mime: &str) -> Option<&'static str> {
    Some(match mime {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "image/avif" => "avif",
        "video/mp4" => "mp4",
        "video/quicktime" => "mov",
        "video/webm" => "webm",
        _ => return None,
    })
}

/// What [`percent_encode`] leaves as it is: RFC 3986's unreserved characters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The same and `/`.
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// Percent-encodes all but RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ . ~`), and
/// `/` too when `keep_slash` (a local path in a query stays readable).
pub fn percent_encode(text: &str, keep_slash: bool) -> String {
    let set = if keep_slash {
        UNRESERVED_AND_SLASH
    } else {
        UNRESERVED
    };
    utf8_percent_encode(text, set).to_string()
}

/// Who can see an asset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Everyone, in the gallery and on the owner's profile.
    #[default]
    Public,
    /// Anyone with its link; never listed, searched, counted in public facets or
    /// suggested (only its owner's own listings show it).
    Unlisted,
    /// Only the owner; everyone else gets the same `404` as for a missing id.
    Private,
}

impl Visibility {
    /// Every visibility, in the order forms offer them.
    pub const ALL: [Visibility; 3] = [
        Visibility::Public,
        Visibility::Unlisted,
        Visibility::Private,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Unlisted => "unlisted",
            Visibility::Private => "private",
        }
    }

    pub fn parse(text: &str) -> Option<Visibility> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "public" => Some(Visibility::Public),
            "unlisted" => Some(Visibility::Unlisted),
            "private" => Some(Visibility::Private),
            _ => None,
        }
    }

    /// Why a form's value is not a visibility, naming the ones there are.
    pub fn refusal(text: &str) -> String {
        format!("visibility is public, unlisted or private, not “{text}”")
    }

    /// What a form's choice says, for people.
    pub fn label(self) -> &'static str {
        match self {
            Visibility::Public => "Public",
            Visibility::Unlisted => "Unlisted (anyone with the link)",
            Visibility::Private => "Only me",
        }
    }

    /// Whether people other than its owner may open it by its link.
    pub fn by_link(self) -> bool {
        self != Visibility::Private
    }
}

/// What a bulk action does to the assets selected (`action` of `POST /api/assets/bulk`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    AddTags,
    RemoveTags,
    SetVisibility,
    Trash,
    /// Into a collection (as the person may add to it; see `POST /api/collections/items/add`).
    AddToCollection,
    /// Out of a collection.
    RemoveFromCollection,
}

impl BulkAction {
    pub const ALL: [BulkAction; 6] = [
        BulkAction::AddTags,
        BulkAction::RemoveTags,
        BulkAction::SetVisibility,
        BulkAction::Trash,
        BulkAction::AddToCollection,
        BulkAction::RemoveFromCollection,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::AddTags => "add_tags",
            BulkAction::RemoveTags => "remove_tags",
            BulkAction::SetVisibility => "set_visibility",
            BulkAction::Trash => "trash",
            BulkAction::AddToCollection => "add_to_collection",
            BulkAction::RemoveFromCollection => "remove_from_collection",
        }
    }

    pub fn parse(text: &str) -> Option<BulkAction> {
        BulkAction::ALL
            .into_iter()
            .find(|a| a.as_str() == text.trim())
    }
}

/// What `POST /api/assets/bulk` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkDone {
    pub action: BulkAction,
    /// The tags added or removed (normalised); empty for other actions.
    pub tags: Vec<String>,
    /// The visibility set; only for `set_visibility`.
    pub visibility: Option<Visibility>,
    /// How many assets were selected.
    pub selected: u32,
    /// The ids of those that changed (the others already were as asked).
    pub changed: Vec<String>,
    /// The collection added to or taken out of; only for those actions.
    #[serde(default)]
    pub collection: Option<CollectionRef>,
}

/// A collection a bulk action named: its id and title.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionRef {
    pub id: String,
    pub title: String,
}

impl BulkDone {
    /// What happened, in a sentence.
    pub fn summary(&self) -> String {
        let n = self.changed.len();
        let assets = if n == 1 {
            "1 asset".to_string()
        } else {
            format!("{n} assets")
        };
        let tags = self
            .tags
            .iter()
            .map(|t| format!("#{t}"))
            .collect::<Vec<_>>()
            .join(" ");
        let done = match self.action {
            BulkAction::AddTags => format!("Added {tags} to {assets}"),
            BulkAction::RemoveTags => format!("Removed {tags} from {assets}"),
            BulkAction::SetVisibility => format!(
                "Made {assets} {}",
                self.visibility.map_or("", |v| v.as_str())
            ),
            BulkAction::Trash => format!("Moved {assets} to the trash"),
            BulkAction::AddToCollection | BulkAction::RemoveFromCollection => {
                let title = self.collection.as_ref().map_or("", |c| c.title.as_str());
                if self.action == BulkAction::AddToCollection {
                    format!("Added {assets} to “{title}”")
                } else {
                    format!("Took {assets} out of “{title}”")
                }
            }
        };
        let same = (self.selected as usize).saturating_sub(n);
        if same == 0 {
            format!("{done}.")
        } else {
            format!("{done}; {same} already were.")
        }
    }
}

/// State of the processing job (thumbnails, poster) that follows an upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Pending,
    Processing,
    Done,
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Processing => "processing",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        Some(match text {
            "pending" => JobState::Pending,
            "processing" => JobState::Processing,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            _ => return None,
        })
    }
}

/// The processing job of an asset, as its page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    pub state: JobState,
    /// 0–100.
    pub progress: u8,
    pub attempts: u32,
    /// Why it failed (or, when done, what could not be made).
    pub error: Option<String>,
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Which of an asset's files a media URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaVariant {
    /// The uploaded file.
    Original,
    /// The 512 px still for the gallery.
    Thumb,
    /// The 1024 px still for the asset page.
    Preview,
}

impl MediaVariant {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaVariant::Original => "original",
            MediaVariant::Thumb => "thumb",
            MediaVariant::Preview => "preview",
        }
    }

    pub fn parse(text: &str) -> Option<MediaVariant> {
        Some(match text {
            "original" => MediaVariant::Original,
            "thumb" => MediaVariant::Thumb,
            "preview" => MediaVariant::Preview,
            _ => return None,
        })
    }
}

/// The URL of one of an asset's files. `v` is the start of the file's SHA-256, so a URL
/// names one content forever and can be cached as immutable.
pub fn media_url(asset_id: &str, variant: MediaVariant, sha256: &str) -> String {
    let version = sha256.get(..16).unwrap_or(sha256);
    format!("/media/{asset_id}/{}?v={version}", variant.as_str())
}

/// Lower-cases, trims, caps and de-duplicates tags, keeping their first-seen order.
pub fn normalize_tags<I, S>(tags: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: Vec<String> = Vec::new();
    // Linear in the number of tags: a long list costs no more than reading it.
    let mut seen = std::collections::HashSet::new();
    for tag in tags {
        let tag = tag.as_ref().trim().to_lowercase();
        let tag: String = tag.chars().take(MAX_TAG_LEN).collect();
        let tag = tag.trim_end().to_string();
        if !tag.is_empty() && seen.insert(tag.clone()) {
            out.push(tag);
        }
    }
    out
}

/// `YYYY-MM-DD` in UTC: the same text on the server and in the browser, so hydration matches.
pub fn short_date(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// Text for `leptos_meta::Title`. On the server leptos_meta 0.8 writes the title into the
/// page unescaped, so a title holding `</title><script>` would end the element early; the
/// server escapes it (the browser decodes the entities inside `<title>`). In the browser the
/// text goes to `document.title`, which needs no escaping.
pub fn title_text(text: &str) -> String {
    #[cfg(feature = "ssr")]
    {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                c => out.push(c),
            }
        }
        out
    }
    #[cfg(not(feature = "ssr"))]
    text.to_string()
}

/// `YYYY-MM-DD HH:MM UTC`, the same on the server and in the browser.
pub fn short_datetime(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `m:ss` for a video length.
pub fn format_duration(ms: u32) -> String {
    let secs = ms.div_ceil(1000);
    format!("{}:{:02}", secs / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("a-b_c.d~e", false), "a-b_c.d~e");
        assert_eq!(percent_encode("neon city/v2", false), "neon%20city%2Fv2");
        assert_eq!(percent_encode("neon city/v2", true), "neon%20city/v2");
        assert_eq!(percent_encode("café&x=1", false), "caf%C3%A9%26x%3D1");
    }

    #[test]
    fn tags_are_normalised_once_each() {
        let tags = normalize_tags([
            "  Portrait ",
            "portrait",
            "",
            "Neon City",
            "x".repeat(80).as_str(),
        ]);
        assert_eq!(tags[0], "portrait");
        assert_eq!(tags[1], "neon city");
        assert_eq!(tags[2].len(), MAX_TAG_LEN);
        assert_eq!(tags.len(), 3);
    }

    #[test]
    fn generations_are_cut_to_their_limits_on_character_boundaries() {
        let huge = Generation {
            tool: Some("a1111".into()),
            // 3-byte characters: the limit falls inside one.
            prompt: Some("猫".repeat(MAX_GENERATION_PROMPT)),
            negative_prompt: Some("n".repeat(MAX_GENERATION_PROMPT + 1)),
            model: Some("é".repeat(MAX_GENERATION_NAME)),
            sampler: Some("euler".into()),
            cfg: Some(f64::NAN),
            loras: (0..100)
                .map(|n| Lora {
                    name: format!("{n}").repeat(300),
                    weight: Some(f64::INFINITY),
                })
                .collect(),
            ..Generation::default()
        };
        let (g, cut) = huge.bounded();
        let prompt = g.prompt.expect("prompt");
        assert!(prompt.len() <= MAX_GENERATION_PROMPT && prompt.len() > MAX_GENERATION_PROMPT - 3);
        assert!(prompt.chars().all(|c| c == '猫'));
        assert_eq!(
            g.negative_prompt.map(|n| n.len()),
            Some(MAX_GENERATION_PROMPT)
        );
        assert_eq!(g.model.map(|m| m.len()), Some(MAX_GENERATION_NAME));
        assert_eq!(g.sampler.as_deref(), Some("euler"), "short texts are whole");
        assert_eq!(g.cfg, None, "NaN is no setting");
        assert_eq!(g.loras.len(), MAX_GENERATION_LORAS);
        assert!(g
            .loras
            .iter()
            .all(|l| l.name.len() <= MAX_GENERATION_NAME && l.weight.is_none()));
        assert_eq!(cut.len(), 5, "{cut:?}");
        assert_eq!(cut[0], "the prompt past its first 20,000 bytes");

        let small = Generation {
            prompt: Some("a cat".into()),
            ..Generation::default()
        };
        assert_eq!(small.clone().bounded(), (small, Vec::new()));
    }

    #[test]
    fn media_type_codes_round_trip() {
        for t in [MediaType::Image, MediaType::Video] {
            assert_eq!(MediaType::from_code(t.code()), Some(t));
        }
        assert_eq!(MediaType::from_code(7), None);
    }

    #[test]
    fn media_urls_name_their_content() {
        assert_eq!(
            media_url("Ab3dEf6hIj9k", MediaVariant::Thumb, &"c".repeat(64)),
            "/media/Ab3dEf6hIj9k/thumb?v=cccccccccccccccc"
        );
        assert_eq!(MediaVariant::parse("preview"), Some(MediaVariant::Preview));
        assert_eq!(extension_for_mime("video/mp4"), Some("mp4"));
        assert_eq!(format_duration(3_001), "0:04");
        assert_eq!(format_duration(65_000), "1:05");
    }
}
