//! The book's search, for people who type without accents: mdBook's index
//! keys are the words as written (`memória`), so `memoria` finds nothing.
//! After the build, every key with an accent is also filed under its plain
//! spelling (`memoria`, `configuracao`), so both queries find the page.
//! The searcher (elasticlunr) needs no change: a query goes through the
//! same pipeline and meets one of the two keys.

use serde_json::{Map, Value};

const PREFIX: &str = "window.search = Object.assign(window.search, JSON.parse('";
const SUFFIX: &str = "'));";

/// `searchindex-*.js` as mdBook writes it, with plain spellings added.
pub fn fold_accents(js: &str) -> Result<String, String> {
    let inner = js
        .trim_end()
        .strip_prefix(PREFIX)
        .and_then(|s| s.strip_suffix(SUFFIX))
        .ok_or("o índice da busca do mdBook mudou de forma (esperava window.search = …)")?;
    let mut index: Value = serde_json::from_str(&js_unescape(inner))
        .map_err(|e| format!("o índice da busca não é JSON: {e}"))?;
    let fields = index
        .pointer_mut("/index/index")
        .and_then(Value::as_object_mut)
        .ok_or("o índice da busca não tem index.index")?;
    for field in fields.values_mut() {
        let Some(root) = field.get_mut("root").and_then(Value::as_object_mut) else {
            continue;
        };
        let mut words = Vec::new();
        collect(root, &mut String::new(), &mut words);
        for (word, docs) in words {
            let plain = plain(&word);
            if plain != word {
                add(root, &plain, &docs);
            }
        }
    }
    let json = serde_json::to_string(&index).expect("serializable");
    Ok(format!(
        "{PREFIX}{}{SUFFIX}",
        json.replace('\\', "\\\\").replace('\'', "\\'")
    ))
}

/// Every word of the trie below `node` (`prefix` so far) with its docs.
fn collect(
    node: &Map<String, Value>,
    prefix: &mut String,
    out: &mut Vec<(String, Map<String, Value>)>,
) {
    if let Some(docs) = node.get("docs").and_then(Value::as_object) {
        if !docs.is_empty() {
            out.push((prefix.clone(), docs.clone()));
        }
    }
    for (key, child) in node {
        if key == "docs" || key == "df" {
            continue;
        }
        if let Some(child) = child.as_object() {
            prefix.push_str(key);
            collect(child, prefix, out);
            prefix.truncate(prefix.len() - key.len());
        }
    }
}

/// Files `docs` under `word` too (a doc already there keeps its own entry).
fn add(root: &mut Map<String, Value>, word: &str, docs: &Map<String, Value>) {
    let mut node = root;
    for ch in word.chars() {
        let child = node
            .entry(ch.to_string())
            .or_insert_with(|| serde_json::json!({"docs": {}, "df": 0}));
        node = child.as_object_mut().expect("trie nodes are objects");
    }
    let there = node
        .entry("docs")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .expect("docs is an object");
    for (id, tf) in docs {
        there.entry(id.clone()).or_insert_with(|| tf.clone());
    }
    let df = there.len();
    node.insert("df".into(), Value::from(df));
}

/// `memória` → `memoria`: the accents of Portuguese (and a few more) off.
pub fn plain(word: &str) -> String {
    word.chars()
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ã' | 'ä' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            other => other,
        })
        .collect()
}

/// The JS string literal's two escapes (`\\`, `\'`) undone.
fn js_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ ('\\' | '\'')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(trie: Value) -> String {
        let json = serde_json::json!({"index": {"index": {"body": {"root": trie}}}}).to_string();
        format!(
            "{PREFIX}{}{SUFFIX}",
            json.replace('\\', "\\\\").replace('\'', "\\'")
        )
    }

    #[test]
    fn accented_words_are_found_without_accents() {
        // "mó" (doc 1) and "mo" (doc 2) exist; "mó" must also be under "mo".
        let js = index(serde_json::json!({
            "docs": {}, "df": 0,
            "m": {"docs": {}, "df": 0,
                "ó": {"docs": {"1": {"tf": 2.0}}, "df": 1},
                "o": {"docs": {"2": {"tf": 1.0}}, "df": 1}},
            "x": {"docs": {"3": {"tf": 1.0}}, "df": 1, "'": {"docs": {"4": {"tf": 1.0}}, "df": 1}}
        }));
        let out = fold_accents(&js).unwrap();
        let inner = out
            .strip_prefix(PREFIX)
            .unwrap()
            .strip_suffix(SUFFIX)
            .unwrap();
        let v: Value = serde_json::from_str(&js_unescape(inner)).unwrap();
        let mo = &v["index"]["index"]["body"]["root"]["m"]["o"];
        assert_eq!(mo["df"], 2);
        assert!(mo["docs"]["1"].is_object() && mo["docs"]["2"].is_object());
        assert_eq!(v["index"]["index"]["body"]["root"]["m"]["ó"]["df"], 1);
        // The quote survived the round trip.
        assert_eq!(v["index"]["index"]["body"]["root"]["x"]["'"]["df"], 1);
        assert_eq!(plain("configuração"), "configuracao");
    }
}
