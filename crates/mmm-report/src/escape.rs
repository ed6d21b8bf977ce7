//! Escaping of data-derived text where it enters the report.
//!
//! Every string that comes from the data (column, channel, region and file names) reaches the
//! page through exactly one of two doors:
//!
//! * [`html`] for text placed in HTML markup by the Rust template (title, summary card): `&`, `<`,
//!   `>`, `"` and `'` become character references, so the text can never open a tag or leave an
//!   attribute value.
//! * [`script_json`] for the data block, a JSON document inside
//!   `<script type="application/json">`. JSON string escaping keeps the value inside its string
//!   literal (`"` → `\"`); on top of that `<`, `>` and `&` are written as `\u003c`, `\u003e`,
//!   `\u0026`, so no `</script>` or `<!--` can appear in the element's raw text and end it early,
//!   and U+2028/U+2029 as `\u2028`/`\u2029`. The page reads the block with `JSON.parse`, never
//!   `eval`, and the JavaScript writes names into the DOM only through `textContent` and into
//!   plotly labels only after escaping `&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;` (plotly interprets a
//!   small set of HTML tags in labels and decodes exactly these references, so escaped text is
//!   shown literally; it does not decode `&quot;`, and quotes cannot open a tag).

/// `text` escaped for HTML text and quoted attribute values.
pub fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `value` serialised as JSON that is safe as the raw text of a `<script>` element: `<`, `>`,
/// `&`, U+2028 and U+2029 are written as `\uXXXX` escapes (they can only occur inside JSON
/// strings, where the escapes denote the same characters).
pub fn script_json<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let raw = serde_json::to_string(value)?;
    let mut out = String::with_capacity(raw.len() + raw.len() / 32);
    for ch in raw.chars() {
        match ch {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NASTY: [&str; 4] = [
        "<script>alert(1)</script>",
        "\"];alert(1);//",
        "</script><!--<script>",
        "a'b&c\u{2028}d",
    ];

    #[test]
    fn html_escape_leaves_no_markup() {
        for s in NASTY {
            let e = html(s);
            assert!(!e.contains('<') && !e.contains('>') && !e.contains('"'));
            assert!(!e.contains('\''));
            // Decoding the references gives the original text back.
            let back = e
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            assert_eq!(back, s);
        }
        assert_eq!(html("plain text"), "plain text");
    }

    #[test]
    fn script_json_cannot_close_the_element_and_round_trips() {
        let value: Vec<&str> = NASTY.to_vec();
        let js = script_json(&value).unwrap();
        for bad in ["<", ">", "&", "\u{2028}", "\u{2029}"] {
            assert!(!js.contains(bad), "{bad:?} left in {js}");
        }
        assert!(!js.to_ascii_lowercase().contains("</script"));
        let back: Vec<String> = serde_json::from_str(&js).unwrap();
        assert_eq!(back, NASTY);
    }
}
