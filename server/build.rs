//! Embeds the front end into the binary: `public/` (served at the root) and the hashed
//! WASM, JS and CSS that cargo-leptos writes to `target/site/pkg` before it builds this
//! crate (served under `/pkg/`). Every file gets its content type, a strong ETag, and
//! brotli and gzip variants compressed here once, so the server never compresses at
//! request time.
//!
//! It also renders the offline side of the app from `server/pwa/`: the service worker
//! (`/sw.js`), named after this build and listing the files it keeps for offline use, and
//! the offline page (`/offline.html`, `/offline.js`) that links this build's stylesheet.

use std::{
    env,
    fmt::Write as _,
    fs,
    io::Write as _,
    path::{Path, PathBuf},
};

use sha2::{Digest, Sha256};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("set by cargo"));
    let workspace = manifest_dir.join("..");
    let public = workspace.join("public");
    let pkg = workspace.join("target").join("site").join("pkg");
    // Watching a missing path would rerun this script on every build.
    fs::create_dir_all(&pkg).expect("create target/site/pkg");
    println!("cargo:rerun-if-changed={}", public.display());
    println!("cargo:rerun-if-changed={}", pkg.display());
    println!("cargo:rerun-if-changed=build.rs");
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join("pwa").display()
    );
    // `sqlx::migrate!` embeds the migrations; on stable Rust it cannot tell cargo to watch
    // them, so a new migration would otherwise not make it into the next build.
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("migrations").display()
    );

    let release = env::var("PROFILE").map(|p| p == "release").unwrap_or(false);
    // (URL path without the leading slash, file on disk)
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    collect(&public, &public, "", &mut files);
    collect(&pkg, &pkg, "pkg/", &mut files);
    files.sort();

    let embed_dir = out_dir.join("site");
    let _ = fs::remove_dir_all(&embed_dir);
    fs::create_dir_all(&embed_dir).expect("create OUT_DIR/site");
    files.extend(offline_files(&manifest_dir.join("pwa"), &embed_dir, &files));
    files.sort();

    let mut code = String::from("pub static FILES: &[EmbeddedFile] = &[\n");
    let (mut js, mut wasm, mut css) = (None, None, None);
    for (index, (rel, path)) in files.iter().enumerate() {
        let body = fs::read(path).expect("read site file");
        let url = format!("/{rel}");
        let ext = rel.rsplit('.').next().unwrap_or_default();
        let in_pkg = rel.starts_with("pkg/");
        if in_pkg {
            match ext {
                "js" => js = Some(url.clone()),
                "wasm" => wasm = Some(url.clone()),
                "css" => css = Some(url.clone()),
                _ => {}
            }
        }
        let digest = hex::encode(Sha256::digest(&body));
        let content_type = content_type(ext);
        let (br, gz) = if compressible(content_type) && body.len() > 512 {
            let br = brotli_bytes(&body, if release { 11 } else { 5 });
            let gz = gzip_bytes(&body, if release { 9 } else { 6 });
            (
                write_variant(&embed_dir, index, "br", br, body.len()),
                write_variant(&embed_dir, index, "gz", gz, body.len()),
            )
        } else {
            (None, None)
        };
        writeln!(
            code,
            "    EmbeddedFile {{ path: {url:?}, content_type: {content_type:?}, etag: \"\\\"{etag}\\\"\", \
             immutable: {in_pkg}, identity: include_bytes!({path:?}), br: {br}, gzip: {gz} }},",
            etag = &digest[..32],
            path = path.display().to_string(),
            br = include_opt(br),
            gz = include_opt(gz),
        )
        .expect("write to string");
    }
    code.push_str("];\n");
    for (name, value) in [("JS", js), ("WASM", wasm), ("CSS", css)] {
        writeln!(code, "pub const {name}_URL: Option<&str> = {value:?};").expect("write");
    }
    fs::write(out_dir.join("site_files.rs"), code).expect("write site_files.rs");
}

/// The files that are not the WASM, JS and CSS or in `public/` as they are: the service
/// worker, whose version is a hash over every other file (a new build is a new worker,
/// which keeps that build's files) and whose precache lists the front end of this build
/// and the offline page; and the offline page with this build's stylesheet linked.
fn offline_files(
    templates: &Path,
    embed_dir: &Path,
    site: &[(String, PathBuf)],
) -> Vec<(String, PathBuf)> {
    let read = |name: &str| {
        fs::read_to_string(templates.join(name))
            .unwrap_or_else(|err| panic!("read server/pwa/{name}: {err}"))
    };
    let css = site
        .iter()
        .find(|(rel, _)| rel.starts_with("pkg/") && rel.ends_with(".css"))
        .map(|(rel, _)| format!("<link rel=\"stylesheet\" href=\"/{rel}\">"))
        .unwrap_or_default();
    let offline_html = read("offline.html").replace("<!-- STYLESHEET -->", &css);
    let offline_js = read("offline.js");

    let mut version = Sha256::new();
    for (rel, path) in site {
        version.update(rel.as_bytes());
        version.update(fs::read(path).expect("read site file"));
    }
    version.update(offline_html.as_bytes());
    version.update(offline_js.as_bytes());
    let worker = read("sw.js");
    version.update(worker.as_bytes());
    let version = &hex::encode(version.finalize())[..16];

    // What a person needs to open the app offline: this build's front end, the offline
    // page, the manifest and the icons the browser shows. Media comes in as it is seen.
    let mut precache: Vec<String> = site
        .iter()
        .map(|(rel, _)| rel)
        .filter(|rel| {
            rel.starts_with("pkg/")
                || matches!(
                    rel.as_str(),
                    "manifest.webmanifest" | "favicon.svg" | "icon-192.png"
                )
        })
        .map(|rel| format!("/{rel}"))
        .collect();
    precache.extend(["/offline.html".to_string(), "/offline.js".to_string()]);
    let precache = serde_json::to_string(&precache).expect("a list of strings");
    let worker = worker
        .replace("\"__VERSION__\"", &format!("{version:?}"))
        .replace("[/* PRECACHE */]", &precache);

    let mut out = Vec::new();
    for (rel, text) in [
        ("sw.js", worker),
        ("offline.html", offline_html),
        ("offline.js", offline_js),
    ] {
        let path = embed_dir.join(format!("pwa-{rel}"));
        fs::write(&path, text).expect("write an offline file");
        out.push((rel.to_string(), path));
    }
    out
}

fn collect(root: &Path, dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, prefix, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = format!("{prefix}{}", rel.to_string_lossy().replace('\\', "/"));
            // Precompressed copies (cargo-leptos `precompress`) are made here instead, and
            // wasm-bindgen's TypeScript declarations (`atelier.d.{hash}.ts` once hashed)
            // are not for browsers.
            let skip = [".br", ".gz", ".ts"];
            if !skip.iter().any(|ext| rel.ends_with(ext)) {
                out.push((rel, path));
            }
        }
    }
}

fn content_type(ext: &str) -> &'static str {
    match ext {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.starts_with("application/")
        || content_type == "image/svg+xml"
        || content_type == "image/x-icon"
}

fn brotli_bytes(body: &[u8], quality: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, quality, 22);
        writer.write_all(body).expect("brotli");
    }
    out
}

fn gzip_bytes(body: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    encoder.write_all(body).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Keeps a compressed variant only when it is meaningfully smaller.
fn write_variant(
    dir: &Path,
    index: usize,
    ext: &str,
    bytes: Vec<u8>,
    original: usize,
) -> Option<PathBuf> {
    if bytes.len() * 10 > original * 9 {
        return None;
    }
    let path = dir.join(format!("{index}.{ext}"));
    fs::write(&path, bytes).expect("write compressed variant");
    Some(path)
}

fn include_opt(path: Option<PathBuf>) -> String {
    match path {
        Some(path) => format!("Some(include_bytes!({:?}))", path.display().to_string()),
        None => "None".into(),
    }
}
