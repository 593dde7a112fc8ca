//! The route table: which paths exist and which methods each takes. Pure, so
//! that 404 versus 405 (with `Allow`) is decided and tested in one place.

use crate::error::EdgeError;
use crate::http::Method;

/// A resolved route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`: liveness, version, settings presence.
    Healthz,
}

/// One path of the table and the methods it takes.
struct Entry {
    path: &'static str,
    methods: &'static [Method],
    route: Route,
}

const TABLE: &[Entry] = &[Entry {
    path: "/healthz",
    methods: &[Method::Get, Method::Head],
    route: Route::Healthz,
}];

/// Resolves a method and a (percent-encoded) path to a route: 404 when no
/// path matches, 405 listing the allowed methods when only the method is wrong.
pub fn resolve(method: Method, path: &str) -> Result<Route, EdgeError> {
    let entry = TABLE.iter().find(|entry| entry.path == path).ok_or(EdgeError::NotFound)?;
    if entry.methods.contains(&method) {
        Ok(entry.route.clone())
    } else {
        Err(EdgeError::MethodNotAllowed { allow: entry.methods.to_vec() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthz_takes_get_and_head() {
        assert_eq!(resolve(Method::Get, "/healthz"), Ok(Route::Healthz));
        assert_eq!(resolve(Method::Head, "/healthz"), Ok(Route::Healthz));
    }

    #[test]
    fn wrong_method_is_405_with_allow() {
        for method in [Method::Post, Method::Delete, Method::Options, Method::Other] {
            assert_eq!(
                resolve(method, "/healthz"),
                Err(EdgeError::MethodNotAllowed { allow: vec![Method::Get, Method::Head] })
            );
        }
    }

    #[test]
    fn unknown_paths_are_404() {
        for path in ["/", "/healthz/", "/HEALTHZ", "/healthz%2F", "//healthz", "/nope"] {
            assert_eq!(resolve(Method::Get, path), Err(EdgeError::NotFound), "{path}");
        }
    }
}
