//! A training config written out for a reader: every field (alphabetically, section by section), its
//! value, its default where it differs, the first line of its documentation and, for a number,
//! its allowed range. The
//! documentation is the fields' own doc comments (through a JSON schema of `TrainConfig`), so it
//! cannot drift from the code.

use crate::config::TrainConfig;
use serde_json::Value;

/// `config` as TOML with every field annotated: `key = value  # doc` (and `default: ...` where
/// the value is not the default); unset optional fields appear as comments.
pub fn annotated(config: &TrainConfig) -> String {
    let defaults = TrainConfig {
        algo: config.algo,
        ..TrainConfig::default()
    };
    let schema = schemars::schema_for!(TrainConfig);
    let schema = schema.as_value();
    let current = toml_value(config);
    let default = toml_value(&defaults);
    let mut out = String::new();
    write_table(&mut out, schema, schema, &[], &current, &default);
    out
}

/// The config as a TOML table, read back from its text so that values look as written (an
/// `f32` field through `toml::Value` would show as 0.9900000095367432).
fn toml_value(config: &TrainConfig) -> toml::Table {
    config.to_toml().parse().unwrap_or_default()
}

/// A value as TOML, floats in their shortest form: a value that is exactly an `f32` (how the
/// config stores gamma, learning rates, noise) prints as that `f32` (0.99, not
/// 0.9900000095367432), and a float keeps its decimal point so it parses back as a float.
fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::Float(x) => {
            let text = if x.is_finite() && f64::from(*x as f32) == *x {
                (*x as f32).to_string()
            } else {
                x.to_string()
            };
            if text.contains(['.', 'e', 'E', 'n', 'i']) {
                text
            } else {
                format!("{text}.0")
            }
        }
        toml::Value::Array(items) => {
            let items: Vec<String> = items.iter().map(show).collect();
            format!("[{}]", items.join(", "))
        }
        toml::Value::Table(t) => {
            let items: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{k} = {}", show(v)))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// The schema a `$ref` points to (`#/$defs/Name`), or `s` itself.
fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    let Some(r) = s.get("$ref").and_then(Value::as_str) else {
        // `Option<Struct>` is `anyOf: [{$ref}, {type: null}]`.
        if let Some(Value::Array(any)) = s.get("anyOf") {
            if let Some(inner) = any.iter().find(|a| a.get("$ref").is_some()) {
                return resolve(root, inner);
            }
        }
        return s;
    };
    let name = r.trim_start_matches("#/$defs/");
    root.get("$defs").and_then(|d| d.get(name)).unwrap_or(s)
}

/// The first sentence of a field's documentation.
fn doc_of(field: &Value) -> String {
    let text = field
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let first = match text.find(". ") {
        Some(end) => text[..=end].to_string(),
        None => text.clone(),
    };
    // Knobs that no shipped config uses, kept to reproduce a record, say so.
    if text.contains("Experimental:") && !first.contains("Experimental:") {
        format!("{first} [experimental: measured no gain, see its doc]")
    } else {
        first
    }
}

/// Writes the table at `path`: its plain fields first, then its sub-tables as `[sections]`.
fn write_table(
    out: &mut String,
    root: &Value,
    schema: &Value,
    path: &[&str],
    current: &toml::Table,
    default: &toml::Table,
) {
    let schema = resolve(root, schema);
    let Some(Value::Object(props)) = schema.get("properties") else {
        return;
    };
    let mut sections = vec![];
    let empty = toml::Table::new();
    for (key, field) in props {
        let value = current.get(key);
        let is_section = matches!(value, Some(toml::Value::Table(_)))
            && resolve(root, field).get("properties").is_some();
        if is_section {
            sections.push((key, field));
            continue;
        }
        let mut doc = doc_of(field);
        let dotted: Vec<&str> = path.iter().copied().chain([key.as_str()]).collect();
        if let Some(range) = crate::limits::range_of(&dotted.join(".")) {
            doc = format!("{doc} Range {}.", range.interval());
        }
        match value {
            Some(v) => {
                let shown = show(v);
                let differs = default.get(key).filter(|d| *d != v);
                let note = match differs {
                    Some(d) => format!("{doc} (default: {})", show(d)),
                    None => doc,
                };
                out.push_str(&format!("{key} = {shown}  # {note}\n"));
            }
            None => out.push_str(&format!("# {key} = (unset)  # {doc}\n")),
        }
    }
    for (key, field) in sections {
        let mut sub: Vec<&str> = path.to_vec();
        sub.push(key);
        let doc = doc_of(field);
        out.push_str(&format!("\n[{}]  # {doc}\n", sub.join(".")));
        let table = |t: &toml::Table| match t.get(key.as_str()) {
            Some(toml::Value::Table(t)) => t.clone(),
            _ => empty.clone(),
        };
        write_table(out, root, field, &sub, &table(current), &table(default));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field of the config appears once, with its doc; a changed value shows its default;
    /// and the annotated text parses back to the same config.
    #[test]
    fn every_field_with_its_doc_and_default() {
        let config = TrainConfig::from_toml(
            "algo = \"dsac\"\n[training]\ngamma = 0.98\n[env.battery]\ncycles_per_day = 1.1\n",
            "test",
        )
        .expect("config");
        let text = annotated(&config);
        assert!(text.contains("algo = \"dsac\""), "{text}");
        assert!(text.contains("\n[env.battery]  # "), "{text}");
        // A value that is not the default says so, with the field's own doc comment.
        let gamma = text
            .lines()
            .find(|l| l.starts_with("gamma = "))
            .expect("gamma");
        assert!(
            gamma.starts_with("gamma = 0.98  # Discount per decision."),
            "{gamma}"
        );
        assert!(gamma.ends_with("(default: 0.99)"), "{gamma}");
        // Every plain field has a doc.
        for l in text
            .lines()
            .filter(|l| l.contains(" = ") && !l.starts_with('#'))
        {
            let doc = l.split("  # ").nth(1).unwrap_or("");
            assert!(!doc.trim().is_empty(), "no doc: {l}");
        }
        // Knobs kept only to reproduce records are labelled.
        let average = text
            .lines()
            .find(|l| l.starts_with("weight_average_steps = "))
            .expect("weight_average_steps");
        assert!(average.contains("[experimental"), "{average}");
        // The unset optional field shows as a comment; the text is a valid config.
        assert!(text.contains("# n_step_with_cap = (unset)"), "{text}");
        let back = TrainConfig::from_toml(&text, "annotated").expect("parses back");
        assert_eq!(back, config);
        // Every plain numeric key of the ranges table is a real key and shows its range (a
        // renamed field would leave its range unchecked).
        for limit in crate::limits::TRAINING_LIMITS {
            let parts: Vec<&str> = limit.key.split('.').collect();
            let [_, leaf] = parts[..] else { continue };
            if leaf.contains(' ') {
                continue;
            }
            let shown = format!("Range {}.", limit.range.interval());
            assert!(
                text.lines()
                    .any(|l| l.starts_with(&format!("{leaf} = ")) && l.contains(&shown))
                    || text.contains(&format!("# {leaf} = (unset)")),
                "{}: {shown}\n{text}",
                limit.key
            );
        }
        for limit in imbarb_sim::BATTERY_LIMITS {
            let shown = format!("Range {}.", limit.range.interval());
            assert!(
                text.lines()
                    .any(|l| l.starts_with(&format!("{} = ", limit.key)) && l.contains(&shown)),
                "{}",
                limit.key
            );
        }
    }
}
