//! Human-readable output of a mount for `mount` and `probe`.

/// One file as printed.
pub struct Row<'a> {
    pub path: &'a str,
    pub mode: u32,
    pub contents: &'a [u8],
}

/// Prints files (mode, size and, when asked, contents) and object versions.
pub fn print(rows: &[Row<'_>], versions: &[(String, String)], show_contents: bool) {
    println!("{} file(s):", rows.len());
    for r in rows {
        println!("  {:04o} {:>7} B  {}", r.mode, r.contents.len(), r.path);
        if show_contents {
            println!("        {}", preview(r.contents));
        }
    }
    println!("{} object version(s):", versions.len());
    for (id, version) in versions {
        println!("  {id} = {version}");
    }
}

/// Text when printable, else a hex preview: binary secrets do not garble the terminal.
fn preview(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
            s.replace('\n', "\n        ")
        }
        _ => {
            let head: String = bytes.iter().take(32).map(|b| format!("{b:02x}")).collect();
            format!(
                "<binary, {} bytes: {head}{}>",
                bytes.len(),
                if bytes.len() > 32 { "…" } else { "" }
            )
        }
    }
}
