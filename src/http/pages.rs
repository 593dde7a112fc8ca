//! The HTML the Worker answers itself (the web flow's linked and error
//! pages), from the templates in www/. Every inserted text is escaped; the
//! pages load nothing but /pages.css, under a strict Content-Security-Policy.

use crate::http::HttpResponse;

const LINKED: &str = include_str!("../../www/linked.html");
const ERROR: &str = include_str!("../../www/error.html");

/// The policy of the Worker's own pages: nothing but its stylesheet.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// HTML-escapes text for element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

pub fn html(status: u16, body: String) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![
            ("Content-Type".to_owned(), "text/html; charset=utf-8".to_owned()),
            ("Cache-Control".to_owned(), "no-store".to_owned()),
            ("Content-Security-Policy".to_owned(), CONTENT_SECURITY_POLICY.to_owned()),
            ("X-Content-Type-Options".to_owned(), "nosniff".to_owned()),
            ("Referrer-Policy".to_owned(), "no-referrer".to_owned()),
        ],
        body: body.into_bytes(),
    }
}

pub fn linked() -> HttpResponse {
    html(200, LINKED.to_owned())
}

/// An error page: a title and a sentence, both escaped.
pub fn error(status: u16, title: &str, message: &str) -> HttpResponse {
    html(status, ERROR.replace("{{title}}", &escape(title)).replace("{{message}}", &escape(message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_inserted() {
        let page = error(400, "Bad <b>", "\"><script>alert(1)</script>&'");
        let text = String::from_utf8(page.body.clone()).unwrap();
        assert!(!text.contains("<script>") && !text.contains("<b>"));
        assert!(text.contains("&lt;script&gt;") && text.contains("&amp;") && text.contains("&#39;"));
        assert_eq!(page.status, 400);
        assert!(page.header("content-security-policy").unwrap().contains("default-src 'none'"));
    }
}
