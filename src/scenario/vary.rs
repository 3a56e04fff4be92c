//! *Varying one field*: the scenario with one value changed, for `netlab compare --vary`.
//!
//! An experiment changes one thing and keeps the rest. `--vary PATH=V1,V2` names a field of
//! the scenario file by a dotted path and gives the values to try:
//!
//! - `.`-separated steps; a number picks a list element (`nodes.2`), a word picks a field
//!   (`zone`) or, in a list, the element whose `name` is that word (`nodes.ns1`);
//! - node kinds are stepped through automatically: `nodes.ns1.zone.0.ttl`, not
//!   `nodes.ns1.DnsServer.zone.0.ttl`;
//! - a value that reads as a number, `true`, `false` or `null` is taken as such, anything
//!   else as a string (`10s`, `wrr`).
//!
//! The file is turned into a JSON tree (serde), changed, and read back into the file types,
//! so the changed scenario is checked exactly like a file a student wrote.
//!
//! # Examples
//! ```
//! use netlab::scenario::load::parse;
//! use netlab::scenario::vary::apply;
//! let text = r#"Scenario(name: "x", description: "y", segments: [(name: "lan", delay: "1ms")], nodes: [])"#;
//! let file = parse("x.ron", text).unwrap();
//! let changed = apply(&file, "segments.lan.delay", "5ms").unwrap();
//! assert_eq!(changed.segments[0].delay.as_deref(), Some("5ms"));
//! ```

use serde_json::Value;

use super::format::ScenarioFile;

/// `file` with the field at `path` set to `value`.
pub fn apply(file: &ScenarioFile, path: &str, value: &str) -> Result<ScenarioFile, String> {
    let mut tree = serde_json::to_value(file).map_err(|e| format!("cannot vary: {e}"))?;
    let target = locate(&mut tree, path)?;
    *target = parse_value(value);
    serde_json::from_value(tree).map_err(|e| format!("{path}={value}: {e}"))
}

/// A literal: number, boolean or null if it reads as one, else a string.
fn parse_value(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => v,
        _ => Value::String(text.to_string()),
    }
}

/// Finds the node of `tree` that `path` names.
fn locate<'a>(mut node: &'a mut Value, path: &str) -> Result<&'a mut Value, String> {
    for step in path.split('.').filter(|s| !s.is_empty()) {
        node = step_into(node, step)
            .ok_or_else(|| format!("`{path}`: nothing called `{step}` there"))?;
    }
    Ok(node)
}

/// One step of a path.
fn step_into<'a>(node: &'a mut Value, step: &str) -> Option<&'a mut Value> {
    // An enum variant (a node kind) is an object with one key: look inside it.
    let node = unwrap_variant(node, step);
    match node {
        Value::Array(items) => {
            if let Ok(index) = step.parse::<usize>() {
                return items.get_mut(index);
            }
            items.iter_mut().find(|item| {
                let inner = match item {
                    Value::Object(map) if map.len() == 1 && !map.contains_key("name") => {
                        map.values().next().expect("a map of one")
                    }
                    other => other,
                };
                inner.get("name").and_then(Value::as_str) == Some(step)
            })
        }
        Value::Object(map) => map.get_mut(step),
        _ => None,
    }
}

/// Steps into an enum wrapper `{"Variant": {...}}` unless `step` names that variant.
fn unwrap_variant<'a>(node: &'a mut Value, step: &str) -> &'a mut Value {
    let is_wrapper = matches!(node, Value::Object(map)
        if map.len() == 1 && !map.contains_key(step) && map.values().all(Value::is_object));
    if is_wrapper {
        return node
            .as_object_mut()
            .and_then(|map| map.values_mut().next())
            .expect("checked just above");
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load::parse;

    const TEXT: &str = r#"Scenario(
        name: "x", description: "y",
        segments: [(name: "lan")],
        nodes: [
            DnsServer(name: "ns1", interface: (attach: "lan", ip: "10.0.0.53/24"),
                      zone: [(name: "www.example", ttl: "60s", addresses: ["10.0.0.1"])]),
            WebServer(name: "web", interface: (attach: "lan", ip: "10.0.0.1/24"), workers: 4),
        ],
    )"#;

    #[test]
    fn paths_go_through_names_and_node_kinds() {
        let file = parse("x.ron", TEXT).unwrap();
        let changed = apply(&file, "nodes.ns1.zone.0.ttl", "1s").unwrap();
        let again = serde_json::to_value(&changed).unwrap();
        assert_eq!(again["nodes"][0]["DnsServer"]["zone"][0]["ttl"], "1s");
        let changed = apply(&file, "nodes.web.workers", "32").unwrap();
        let again = serde_json::to_value(&changed).unwrap();
        assert_eq!(again["nodes"][1]["WebServer"]["workers"], 32);
    }

    #[test]
    fn wrong_paths_and_values_are_explained() {
        let file = parse("x.ron", TEXT).unwrap();
        assert!(
            apply(&file, "nodes.nobody.workers", "3")
                .unwrap_err()
                .contains("nobody")
        );
        assert!(apply(&file, "nodes.web.workers", "many").is_err());
    }
}
