//! `atelier seed-demo`: synthetic users and assets with varied titles, prompts, tags,
//! models, media types and dates spread over a year. The metadata depends only on the
//! seed (with or without files), so the same seed always gives the same data.

mod art;
pub mod h264;

use std::collections::HashMap;

use anyhow::{Context, Result};
use app::{
    ids::{BASE62, PUBLIC_ID_LEN},
    model::{normalize_tags, MediaType, Visibility},
    stats::Feature,
    store::{
        Featurable, FileId, NewAsset, NewFile, NewLike, NewUser, Store, UsageEvent, UserId,
        ViewEvent,
    },
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::storage::FileStore;

pub struct SeedOptions {
    pub count: u64,
    pub seed: u64,
}

#[derive(Debug, Default)]
pub struct SeedReport {
    pub users: u64,
    pub assets: u64,
    pub files: u64,
    pub likes: u64,
    pub views: u64,
    /// Assets an admin would have featured.
    pub featured: u64,
}

/// Assets per database transaction.
const BATCH: usize = 5_000;
/// Distinct generated pictures; assets beyond this share them (stored once, by hash).
const IMAGE_POOL: usize = 160;
/// Image shapes (long edge 512 px): square, portrait and landscape ratios models produce.
const IMAGE_SIZES: [(u32, u32); 7] = [
    (512, 512),
    (384, 512),
    (512, 384),
    (336, 512),
    (512, 336),
    (288, 512),
    (512, 288),
];
/// Demo videos: multiples of 16 px, 8 fps, 2 seconds.
const VIDEO_SIZES: [(u32, u32); 3] = [(160, 96), (96, 160), (128, 128)];
const VIDEO_FPS: u32 = 8;
const VIDEO_FRAMES: usize = 16;
/// One asset in this many is a video (so even a small demo has some).
const VIDEO_EVERY: u64 = 12;

/// The year of demo activity ends here (fixed, so the data does not depend on today).
fn epoch_end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

const ADJECTIVES: &[&str] = &[
    "quiet",
    "amber",
    "electric",
    "lonely",
    "golden",
    "misty",
    "crimson",
    "velvet",
    "frozen",
    "radiant",
    "forgotten",
    "gentle",
    "feral",
    "silver",
    "hollow",
    "luminous",
    "ancient",
    "drifting",
    "neon",
    "paper",
    "solar",
    "midnight",
    "wild",
    "glass",
];
const NAMES: &[&str] = &[
    "fox", "heron", "moth", "otter", "lynx", "wren", "koi", "raven", "ibis", "hare", "orca",
    "gecko", "bison", "finch", "newt", "crane",
];
/// (subject, its tag)
const SUBJECTS: &[(&str, &str)] = &[
    ("lighthouse", "architecture"),
    ("astronaut", "sci-fi"),
    ("red fox", "animals"),
    ("koi pond", "nature"),
    ("cathedral", "architecture"),
    ("robot gardener", "sci-fi"),
    ("samurai", "portrait"),
    ("jellyfish", "underwater"),
    ("desert caravan", "landscape"),
    ("tea house", "architecture"),
    ("city skyline", "cityscape"),
    ("forest spirit", "fantasy"),
    ("dragon", "fantasy"),
    ("snowy owl", "animals"),
    ("greenhouse", "interior"),
    ("space station", "sci-fi"),
    ("violinist", "portrait"),
    ("night train", "cityscape"),
    ("mountain shrine", "landscape"),
    ("coral reef", "underwater"),
    ("witch's library", "fantasy"),
    ("cyborg", "cyberpunk"),
    ("street market", "cityscape"),
    ("old fisherman", "portrait"),
];
const SETTINGS: &[&str] = &[
    "at dusk",
    "in the rain",
    "under neon lights",
    "at golden hour",
    "in thick fog",
    "on Mars",
    "in deep winter",
    "under the sea",
    "at blue hour",
    "in a thunderstorm",
    "among cherry blossoms",
    "in a snow globe",
];
/// (style, its tag)
const STYLES: &[(&str, &str)] = &[
    ("watercolor", "watercolor"),
    ("oil painting", "painting"),
    ("cinematic still", "cinematic"),
    ("isometric 3d render", "3d"),
    ("ukiyo-e woodblock print", "ukiyo-e"),
    ("pixel art", "pixel-art"),
    ("35mm film photo", "photoreal"),
    ("concept art", "concept-art"),
    ("charcoal sketch", "sketch"),
    ("vaporwave poster", "retro"),
    ("low-poly", "3d"),
    ("anime key visual", "anime"),
    ("cyberpunk illustration", "cyberpunk"),
];
const DETAILS: &[&str] = &[
    "volumetric light",
    "soft rim lighting",
    "intricate detail",
    "shallow depth of field",
    "dramatic clouds",
    "muted palette",
    "vivid colours",
    "wide angle",
    "bokeh",
    "film grain",
    "symmetrical composition",
    "long exposure",
    "octane render",
    "8k",
];
const MOOD_TAGS: &[&str] = &[
    "moody", "dreamy", "surreal", "minimal", "night", "colorful", "dark", "cozy", "epic",
];
const IMAGE_MODELS: &[&str] = &[
    "sdxl-1.0",
    "flux.1-dev",
    "flux.1-schnell",
    "sd-1.5",
    "juggernaut-xl-v9",
    "dreamshaper-8",
    "pony-diffusion-v6",
    "animagine-xl-3.1",
    "sd-3.5-large",
    "playground-v2.5",
];
const VIDEO_MODELS: &[&str] = &[
    "stable-video-diffusion",
    "hunyuan-video",
    "wan-2.1",
    "ltx-video",
    "cogvideox-5b",
];

/// The tags that name a style. Every demo asset carries exactly one, so a search that
/// excludes them all (at most [`app::search::MAX_SEARCH_TAGS`]) matches nothing and must look
/// at every asset: what the search-budget tests need.
pub fn style_tags() -> Vec<&'static str> {
    let mut tags: Vec<&'static str> = STYLES.iter().map(|(_, tag)| *tag).collect();
    tags.sort_unstable();
    tags.dedup();
    tags
}

fn public_id(rng: &mut impl Rng) -> String {
    (0..PUBLIC_ID_LEN)
        .map(|_| char::from(BASE62[rng.gen_range(0..BASE62.len())]))
        .collect()
}

fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// One synthetic asset before files are attached.
struct Draft {
    asset: NewAsset,
    /// Index into the image or video pool this asset shows.
    slot: usize,
}

/// One synthetic asset: `index` of `count`. Creation times run forward through the demo
/// year (evenly, with jitter inside each asset's slot), as uploads arrive in real life: the
/// inserts append to the time-ordered indexes instead of landing at random places in them.
fn draft(rng: &mut ChaCha8Rng, owners: &[UserId], index: u64, count: u64) -> Draft {
    let (subject, subject_tag) = *pick(rng, SUBJECTS);
    let (style, style_tag) = *pick(rng, STYLES);
    let setting = *pick(rng, SETTINGS);
    let adjective = *pick(rng, ADJECTIVES);
    let media_type = if index % VIDEO_EVERY == VIDEO_EVERY / 2 {
        MediaType::Video
    } else {
        MediaType::Image
    };
    let mut details: Vec<&str> = DETAILS.choose_multiple(rng, 3).copied().collect();
    details.sort_unstable();
    let prompt = format!(
        "{adjective} {subject} {setting}, {style}, {}",
        details.join(", ")
    );
    let mut tags = vec![subject_tag, style_tag];
    let moods = rng.gen_range(0..3);
    tags.extend(MOOD_TAGS.choose_multiple(rng, moods));
    if media_type == MediaType::Video {
        tags.push("animation");
    }
    let model = match media_type {
        MediaType::Image => pick(rng, IMAGE_MODELS),
        MediaType::Video => pick(rng, VIDEO_MODELS),
    };
    let model = (!rng.gen_bool(0.05)).then(|| model.to_string());
    let (slot, (width, height), duration_ms) = match media_type {
        MediaType::Image => {
            let slot = rng.gen_range(0..IMAGE_POOL);
            (slot, IMAGE_SIZES[slot % IMAGE_SIZES.len()], None)
        }
        MediaType::Video => {
            let slot = rng.gen_range(0..VIDEO_SIZES.len());
            let ms = VIDEO_FRAMES as u32 * 1000 / VIDEO_FPS;
            (slot, VIDEO_SIZES[slot], Some(ms))
        }
    };
    let year_micros = 365 * 24 * 3600 * 1_000_000i64;
    let slot_micros = (year_micros / i64::try_from(count.max(1)).unwrap_or(i64::MAX)).max(1);
    let offset = i64::try_from(index)
        .unwrap_or(i64::MAX)
        .saturating_mul(slot_micros)
        + rng.gen_range(0..slot_micros);
    let created_at = epoch_end() - Duration::microseconds(year_micros)
        + Duration::microseconds(offset.min(year_micros - 1));
    Draft {
        asset: NewAsset {
            public_id: public_id(rng),
            owner: *pick(rng, owners),
            title: capitalise(&format!("{adjective} {subject} {setting}")),
            prompt,
            model,
            media_type,
            file: None,
            thumb: None,
            width: Some(width),
            height: Some(height),
            duration_ms,
            tags: normalize_tags(tags),
            created_at,
            negative_prompt: String::new(),
            visibility: Visibility::Public,
            original_filename: None,
            preview: None,
            generation: None,
            raw_metadata: None,
            metadata_dropped: None,
            parser_version: 0,
        },
        slot,
    }
}

/// Mixed into the seed of the stream that draws likes and views.
const FANS_SEED: u64 = 0x6c_696b_6573;

/// Likes and views of a batch by the demo's people: most assets have none, a few have
/// many (the chance of at least `k` likes is 1/(k+1)², about 0.64 on average); each like
/// comes with two views, and anything may be viewed without a like. Each is on a day
/// after the asset appeared, by someone other than its owner; private assets get none.
fn appreciation(
    rng: &mut ChaCha8Rng,
    people: &[UserId],
    batch: &[NewAsset],
) -> (Vec<NewLike>, Vec<ViewEvent>) {
    let (mut likes, mut views) = (Vec::new(), Vec::new());
    for asset in batch {
        let draw: f64 = rng.gen_range(f64::MIN_POSITIVE..=1.0);
        if asset.visibility == Visibility::Private {
            continue;
        }
        let others = people.len().saturating_sub(1);
        let liked = ((draw.powf(-0.5) - 1.0) as usize).min(others);
        let viewed = (liked * 2 + rng.gen_range(0..3)).min(others);
        // One more than needed, so that leaving the owner out still leaves enough.
        let chosen = people
            .choose_multiple(rng, viewed + 1)
            .filter(|p| **p != asset.owner)
            .take(viewed);
        for (n, person) in chosen.enumerate() {
            let at = asset.created_at + Duration::minutes(rng.gen_range(1..60 * 24 * 14));
            if n < liked {
                likes.push(NewLike {
                    asset: asset.public_id.clone(),
                    user: *person,
                    at,
                });
            }
            views.push(ViewEvent {
                asset: asset.public_id.clone(),
                viewer: format!("u:{}", person.0),
                day: app::stats::Day::of(at).0,
            });
        }
    }
    (likes, views)
}

/// Assets the demo features: one in [`FEATURED_EVERY`] (at least [`FEATURED_MIN`] in all,
/// spread over the year), the public ones among them.
const FEATURED_EVERY: u64 = 2_000;
const FEATURED_MIN: u64 = 12;

/// Whether the asset at `index` of `count` is one the demo features (before its
/// visibility is known).
fn featured_slot(index: u64, count: u64) -> bool {
    let step = (count / (count / FEATURED_EVERY).max(FEATURED_MIN)).max(1);
    index % step == step / 2
}

/// Files generated so far, by pool slot: (original, still image).
type Pool = HashMap<(MediaType, usize), (FileId, FileId)>;

pub async fn seed(
    store: &dyn Store,
    files: Option<&FileStore>,
    options: &SeedOptions,
) -> Result<SeedReport> {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let mut report = SeedReport::default();

    let user_count = (options.count / 40).clamp(3, 1_000) as usize;
    let mut owners = Vec::with_capacity(user_count);
    let mut taken = std::collections::HashSet::new();
    for n in 0..user_count {
        let base = format!("{}_{}", pick(&mut rng, ADJECTIVES), pick(&mut rng, NAMES));
        let username = if taken.contains(&base) {
            format!("{base}{n}")
        } else {
            base
        };
        taken.insert(username.clone());
        let joined =
            epoch_end() - Duration::days(365) - Duration::seconds(rng.gen_range(0..30 * 24 * 3600));
        let user = store
            .create_user(&NewUser {
                public_id: public_id(&mut rng),
                username,
                password_hash: None,
                role: app::account::Role::User,
                created_at: joined,
            })
            .await
            .context("cannot create demo users")?;
        owners.push(user.id);
        report.users += 1;
    }

    let mut pool = Pool::new();
    let mut remaining = options.count;
    // Likes and views draw from their own stream, so the assets are the same as without.
    let mut fans = ChaCha8Rng::seed_from_u64(options.seed ^ FANS_SEED);
    while remaining > 0 {
        let size = remaining.min(BATCH as u64) as usize;
        let mut batch = Vec::with_capacity(size);
        for _ in 0..size {
            let index = options.count - remaining + batch.len() as u64;
            let Draft { mut asset, slot } = draft(&mut rng, &owners, index, options.count);
            if let Some(files) = files {
                let key = (asset.media_type, slot);
                let (file, thumb) = match pool.get(&key) {
                    Some(ids) => *ids,
                    None => {
                        let ids = make_files(store, files, options.seed, key).await?;
                        report.files += if ids.0 == ids.1 { 1 } else { 2 };
                        pool.insert(key, ids);
                        ids
                    }
                };
                asset.file = Some(file);
                asset.thumb = Some(thumb);
                asset.preview = Some(thumb);
            }
            batch.push(asset);
        }
        store
            .insert_assets(&batch)
            .await
            .context("cannot insert demo assets")?;
        // The demo's history: each asset was an upload, at its time, by its owner.
        let uploads: Vec<UsageEvent> = batch
            .iter()
            .map(|asset| UsageEvent {
                at: asset.created_at,
                feature: Feature::UploadFinished,
                user: Some(asset.owner),
                detail: asset.media_type.as_str().into(),
            })
            .collect();
        store
            .record_usage(&uploads)
            .await
            .context("cannot record the demo's uploads")?;
        // Featured a day after it appeared (or at the demo's end, if that is sooner).
        let first = options.count - remaining;
        for (n, asset) in batch.iter().enumerate() {
            if asset.visibility == Visibility::Public
                && featured_slot(first + n as u64, options.count)
            {
                let at = (asset.created_at + Duration::days(1)).min(epoch_end());
                store
                    .set_featured(Featurable::Asset(&asset.public_id), Some(at))
                    .await
                    .context("cannot feature the demo's picks")?;
                report.featured += 1;
            }
        }
        let (likes, views) = appreciation(&mut fans, &owners, &batch);
        report.likes += store
            .add_likes(&likes)
            .await
            .context("cannot add the demo's likes")?;
        report.views += store
            .record_views(&views)
            .await
            .context("cannot count the demo's views")?;
        report.assets += size as u64;
        remaining -= size as u64;
        if options.count > BATCH as u64 {
            tracing::info!(done = report.assets, of = options.count, "seeding");
        }
    }
    Ok(report)
}

/// Draws, encodes and stores the files of one pool slot.
async fn make_files(
    store: &dyn Store,
    files: &FileStore,
    seed: u64,
    (media_type, slot): (MediaType, usize),
) -> Result<(FileId, FileId)> {
    let files = files.clone();
    let scene_seed = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(slot as u64 * 2 + u64::from(media_type == MediaType::Video));
    let generated = tokio::task::spawn_blocking(move || -> Result<Vec<(Vec<u8>, NewFileDraft)>> {
        let scene = art::Scene::new(scene_seed);
        match media_type {
            MediaType::Image => {
                let (w, h) = IMAGE_SIZES[slot % IMAGE_SIZES.len()];
                let jpeg = encode_jpeg(w, h, &scene.render(w, h, 0.0))?;
                Ok(vec![(jpeg, NewFileDraft::still(w, h))])
            }
            MediaType::Video => {
                let (w, h) = VIDEO_SIZES[slot % VIDEO_SIZES.len()];
                let frames: Vec<Vec<u8>> = (0..VIDEO_FRAMES)
                    .map(|i| scene.render(w, h, i as f32 / VIDEO_FRAMES as f32))
                    .collect();
                let mp4 = h264::encode_mp4(w as usize, h as usize, VIDEO_FPS, &frames);
                let (pw, ph) = (w * 4, h * 4);
                let poster = encode_jpeg(pw, ph, &scene.render(pw, ph, 0.0))?;
                let video = NewFileDraft {
                    mime: "video/mp4",
                    ext: "mp4",
                    width: w,
                    height: h,
                    duration_ms: Some(VIDEO_FRAMES as u32 * 1000 / VIDEO_FPS),
                };
                Ok(vec![(mp4, video), (poster, NewFileDraft::still(pw, ph))])
            }
        }
    })
    .await
    .context("demo media generation panicked")??;

    let mut ids = Vec::with_capacity(2);
    for (bytes, draft) in generated {
        let files = files.clone();
        let stored = tokio::task::spawn_blocking(move || files.put(&bytes, draft.ext))
            .await
            .context("file storage task panicked")?
            .context("cannot store a demo file")?;
        let id = store
            .put_file(&NewFile {
                sha256: stored.sha256,
                byte_size: stored.byte_size,
                mime_type: draft.mime.to_string(),
                width: Some(draft.width),
                height: Some(draft.height),
                duration_ms: draft.duration_ms,
                storage_path: stored.storage_path,
                created_at: Utc::now(),
            })
            .await?;
        ids.push(id);
    }
    let original = ids[0];
    Ok((original, *ids.last().unwrap_or(&original)))
}

struct NewFileDraft {
    mime: &'static str,
    ext: &'static str,
    width: u32,
    height: u32,
    duration_ms: Option<u32>,
}

impl NewFileDraft {
    fn still(width: u32, height: u32) -> Self {
        NewFileDraft {
            mime: "image/jpeg",
            ext: "jpg",
            width,
            height,
            duration_ms: None,
        }
    }
}

fn encode_jpeg(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82)
        .encode(rgb, width, height, image::ExtendedColorType::Rgb8)
        .context("cannot encode a demo JPEG")?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_drafts() {
        let owners = [UserId(1), UserId(2)];
        let run = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..50)
                .map(|i| {
                    let d = draft(&mut rng, &owners, i, 50).asset;
                    (
                        d.public_id,
                        d.title,
                        d.prompt,
                        d.tags,
                        d.created_at,
                        d.media_type,
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
        let drafts = run(3);
        let year_start = epoch_end() - Duration::days(365);
        assert!(drafts
            .iter()
            .all(|d| d.4 > year_start && d.4 < epoch_end() && !d.3.is_empty()));
    }

    #[test]
    fn a_few_assets_are_featured_whatever_the_size() {
        let slots = |count: u64| (0..count).filter(|i| featured_slot(*i, count)).count();
        assert_eq!(slots(5), 5);
        assert_eq!(slots(200), 12);
        assert_eq!(slots(10_000), 12);
        assert_eq!(slots(1_000_000), 500);
    }
}
