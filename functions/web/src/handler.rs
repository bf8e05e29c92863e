//! Which file a path names, and the answer that serves it.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use std::path::Path;

/// Only `/`, `/config.json` and flat names under `/assets/` are served: a name is letters,
/// digits, `.`, `-` and `_` and never starts with a dot, so no path can leave the root.
fn file_for(path: &str) -> Option<String> {
    let name = match path {
        "/" | "/index.html" => return Some("index.html".into()),
        "/config.json" => return Some("config.json".into()),
        p => p.strip_prefix("/assets/")?,
    };
    let safe = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    safe.then(|| format!("assets/{name}"))
}

fn content_type(file: &str) -> &'static str {
    match file.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

pub fn serve(root: &Path, path: &str) -> Response<Body> {
    let found = file_for(path).and_then(|f| std::fs::read(root.join(&f)).ok().map(|b| (f, b)));
    let Some((file, bytes)) = found else {
        let mut missing = Response::new(Body::from(format!(
            "not found: {path} (is the page built? npm --prefix web run build)\n"
        )));
        *missing.status_mut() = StatusCode::NOT_FOUND;
        return missing;
    };
    // Hashed asset names never change content; the page and its config must be re-read.
    let cache = if file.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&file)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_page_its_config_and_flat_asset_names_are_served() {
        assert_eq!(file_for("/").as_deref(), Some("index.html"));
        assert_eq!(file_for("/config.json").as_deref(), Some("config.json"));
        assert_eq!(
            file_for("/assets/index-Ab_1.js").as_deref(),
            Some("assets/index-Ab_1.js")
        );
        for bad in [
            "/assets/../Cargo.toml",
            "/assets/..",
            "/assets/.env",
            "/assets/a/b.js",
            "/assets/",
            "/assets/%2e%2e",
            "/etc/passwd",
        ] {
            assert_eq!(file_for(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_missing_file_is_a_404_and_assets_are_cached_for_good() {
        let root = std::env::temp_dir().join(format!("web-test-{}", std::process::id()));
        std::fs::create_dir_all(root.join("assets")).unwrap();
        std::fs::write(root.join("assets/a.js"), "x").unwrap();
        assert_eq!(serve(&root, "/").status(), StatusCode::NOT_FOUND);
        let asset = serve(&root, "/assets/a.js");
        assert_eq!(asset.status(), StatusCode::OK);
        assert_eq!(
            asset.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert!(
            asset.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        std::fs::remove_dir_all(root).unwrap();
    }
}
