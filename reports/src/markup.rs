//! Small helpers for writing HTML and Markdown by hand: escaping and table rows.

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
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

/// Escapes a Markdown table cell (pipes and line breaks).
pub(crate) fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// One Markdown table row.
pub(crate) fn md_row(cells: &[String]) -> String {
    let cells: Vec<String> = cells.iter().map(|c| escape_cell(c)).collect();
    format!("| {} |\n", cells.join(" | "))
}

/// One HTML table row; `tag` is `td` or `th`.
pub(crate) fn html_row(cells: &[String], tag: &str) -> String {
    let mut out = String::from("<tr>");
    for cell in cells {
        out.push_str(&format!("<{tag}>{}</{tag}>", escape_html(cell)));
    }
    out.push_str("</tr>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_characters() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(
            md_row(&["a|b".to_owned(), "c".to_owned()]),
            "| a\\|b | c |\n"
        );
    }
}
