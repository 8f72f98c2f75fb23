//! A one-page PDF of text lines, written by hand: PDF 1.4, the standard
//! Helvetica fonts (no embedding), one content stream, a cross-reference
//! table with exact offsets. Enough for a form summary any reader opens.

/// A line of the page: its text, size, and whether it is bold.
pub struct Line {
    /// The text (Latin-1; other characters become `?`).
    pub text: String,
    /// Font size in points.
    pub size: u32,
    /// Bold (Helvetica-Bold) or regular.
    pub bold: bool,
}

impl Line {
    /// A regular line of 11 points.
    pub fn text(text: impl Into<String>) -> Line {
        Line {
            text: text.into(),
            size: 11,
            bold: false,
        }
    }

    /// A bold heading of 16 points.
    pub fn heading(text: impl Into<String>) -> Line {
        Line {
            text: text.into(),
            size: 16,
            bold: true,
        }
    }
}

/// Escapes text for a PDF string literal.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if (' '..='~').contains(&c) => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

/// An A4 page holding `lines`, top to bottom, as a PDF file.
pub fn document(title: &str, lines: &[Line]) -> Vec<u8> {
    let mut content = String::new();
    let mut y = 800;
    for line in lines {
        y -= line.size as i32 + 8;
        let font = if line.bold { "F2" } else { "F1" };
        content.push_str(&format!(
            "BT /{font} {} Tf 56 {y} Td ({}) Tj ET\n",
            line.size,
            literal(&line.text)
        ));
    }
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_string(),
        format!("<< /Title ({}) /Producer (Pulse ipai_finance_ssc) >>", literal(title)),
    ];
    let mut pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info {} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1,
            objects.len()
        )
        .as_bytes(),
    );
    pdf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cross_reference_table_points_at_each_object() {
        let pdf = document(
            "T",
            &[
                Line::heading("BIR Form 1601-C"),
                Line::text("Total (net): 1,000.00"),
            ],
        );
        assert!(pdf.starts_with(b"%PDF-1.4"));
        let find = |needle: &[u8]| pdf.windows(needle.len()).rposition(|w| w == needle);
        assert!(find(b"(Total \\(net\\): 1,000.00) Tj").is_some());
        let at = find(b"startxref\n").unwrap() + 10;
        let tail = std::str::from_utf8(&pdf[at..]).unwrap();
        let xref: usize = tail.lines().next().unwrap().parse().unwrap();
        assert!(pdf[xref..].starts_with(b"xref"));
        let table = std::str::from_utf8(&pdf[xref..]).unwrap();
        for (i, entry) in table.lines().skip(3).take(7).enumerate() {
            let offset: usize = entry[..10].parse().unwrap();
            let object = format!("{} 0 obj", i + 1);
            assert!(
                pdf[offset..].starts_with(object.as_bytes()),
                "object {}",
                i + 1
            );
        }
    }
}
