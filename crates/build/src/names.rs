//! Rust names of config files: `deploy/prod-eu.yaml` → `prod_eu`.

/// Keywords (strict, reserved and edition 2024) that cannot name a function or module.
const KEYWORDS: [&str; 52] = [
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "union", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Names the generated code itself defines beside the per-file items.
const TAKEN: [&str; 1] = ["all"];

/// The snake_case Rust name of a config file from its path relative to the directory it was found
/// in, without the extension (`eu/prod-1` → `eu_prod_1`). `None` when nothing usable is left.
pub(crate) fn rust_name(relative_stem: &str) -> Option<String> {
    let mut name = String::with_capacity(relative_stem.len());
    for c in relative_stem.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_alphanumeric() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('_') {
            // Separators (`-`, `.`, `/`, spaces, non-ASCII) become one underscore: rustc's
            // snake_case lint refuses doubled ones.
            name.push('_');
        }
    }
    while name.ends_with('_') {
        name.pop();
    }
    if name.is_empty() {
        return None;
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "config_");
    }
    if KEYWORDS.contains(&name.as_str()) || TAKEN.contains(&name.as_str()) {
        name.push_str("_config");
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::rust_name;

    #[test]
    fn file_names_become_snake_case_identifiers() {
        for (stem, expected) in [
            ("prod", "prod"),
            ("Prod-EU", "prod_eu"),
            ("eu/prod.v2", "eu_prod_v2"),
            ("--a__b--", "a_b"),
            ("2026-q1", "config_2026_q1"),
            ("type", "type_config"),
            ("all", "all_config"),
            ("prödüction", "pr_d_ction"),
        ] {
            assert_eq!(rust_name(stem).as_deref(), Some(expected), "{stem}");
        }
        assert_eq!(rust_name("---"), None);
        assert_eq!(rust_name("ü"), None);
    }

    #[test]
    fn every_name_is_an_identifier() {
        for stem in ["a", "x-1", "0", "self", "gen", "z.z.z", "Ab_Cd"] {
            let name = rust_name(stem).unwrap();
            assert!(
                syn::parse_str::<syn::Ident>(&name).is_ok(),
                "{stem} gave {name}, not an identifier"
            );
        }
    }
}
