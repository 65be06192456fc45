//! The browser pages' files, served from `web_dir` on every path the game port does not
//! reserve (a folder's path ending in `/` is its `index.html`).
//!
//! Only plain names are served: each path segment is 1 or more of `A-Z a-z 0-9 _ . -` and does
//! not start with `.`. Nothing is percent-decoded, so `..`, hidden files and encoded separators
//! (`%2e%2e`, `%2f`) never reach the file system; they are 404 like a missing file.

use crate::net::http::{Body, not_found, text};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use tracing::warn;

/// The file `/` serves.
const INDEX: &str = "index.html";

/// Answers `GET` (or `HEAD`: the same headers, no body) for `request_path`.
pub(crate) async fn serve(
    web_dir: Option<&Path>,
    request_path: &str,
    head: bool,
) -> Response<Body> {
    let Some(path) = web_dir.and_then(|dir| resolve(dir, request_path)) else {
        return not_found();
    };
    // tokio::fs runs each call on the blocking pool: a slow disk never stalls a runtime worker.
    let metadata = match tokio::fs::metadata(&path).await {
        Ok(metadata) if metadata.is_file() => metadata,
        Ok(_) => return not_found(),
        Err(error) => return read_failed(&path, &error),
    };
    let (body, len) = if head {
        (Bytes::new(), metadata.len())
    } else {
        match tokio::fs::read(&path).await {
            Ok(bytes) => {
                let len = bytes.len() as u64;
                (Bytes::from(bytes), len)
            }
            Err(error) => return read_failed(&path, &error),
        }
    };
    let mut response = Response::new(Full::new(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&path)),
    );
    // For HEAD, hyper keeps this header and sends no body.
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    // Revalidate every time, so a rebuilt page or wasm module is picked up on reload.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// 404 for a file that is not there; anything else is the operator's to fix, so it is logged.
fn read_failed(path: &Path, error: &std::io::Error) -> Response<Body> {
    match error.kind() {
        ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::IsADirectory => not_found(),
        _ => {
            warn!(path = %path.display(), %error, "cannot read web file");
            text(StatusCode::INTERNAL_SERVER_ERROR, "cannot read file\n")
        }
    }
}

/// The file `request_path` (the URI path, still percent-encoded) names inside `dir`, or `None`
/// when a segment is not a plain name.
fn resolve(dir: &Path, request_path: &str) -> Option<PathBuf> {
    let relative = request_path.strip_prefix('/')?;
    // A folder's path ending in `/` is its index.html (`/` itself, `/games/arena/`).
    let (folder, file) = match relative.rsplit_once('/') {
        Some((folder, file)) => (Some(folder), file),
        None => (None, relative),
    };
    let mut path = dir.to_path_buf();
    for segment in folder.into_iter().flat_map(|f| f.split('/')) {
        if !is_plain_name(segment) {
            return None;
        }
        path.push(segment);
    }
    if file.is_empty() {
        path.push(INDEX);
    } else if is_plain_name(file) {
        path.push(file);
    } else {
        return None;
    }
    Some(path)
}

fn is_plain_name(segment: &str) -> bool {
    !segment.is_empty()
        && !segment.starts_with('.')
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The `Content-Type` for a file's extension; `application/wasm` is what
/// `WebAssembly.instantiateStreaming` insists on.
fn content_type(path: &Path) -> &'static str {
    let extension = path.extension().and_then(|ext| ext.to_str()).unwrap_or("");
    match extension.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_resolve() {
        let dir = Path::new("/srv/web");
        assert_eq!(resolve(dir, "/"), Some(dir.join("index.html")));
        assert_eq!(
            resolve(dir, "/games/race/"),
            Some(dir.join("games").join("race").join("index.html"))
        );
        assert_eq!(
            resolve(dir, "/pkg/client_bg.wasm"),
            Some(dir.join("pkg").join("client_bg.wasm"))
        );
        for bad in [
            "",
            "/..",
            "/../Cargo.toml",
            "/pkg/../../etc/passwd",
            "/%2e%2e/Cargo.toml",
            "/pkg%2f..%2fx",
            "/.hidden",
            "/pkg/.git/config",
            "/./index.html",
            "//etc/passwd",
            "/a b.html",
            "/C:/x",
            "/a\\b",
        ] {
            assert_eq!(resolve(dir, bad), None, "{bad:?}");
        }
    }

    #[test]
    fn wasm_and_javascript_get_the_types_browsers_require() {
        assert_eq!(content_type(Path::new("pkg/x_bg.wasm")), "application/wasm");
        assert_eq!(
            content_type(Path::new("pkg/x.js")),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("INDEX.HTML")),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type(Path::new("LICENSE")),
            "application/octet-stream"
        );
    }
}
