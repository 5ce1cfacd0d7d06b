//! The checked-in JSON Schema files must match what the code generates.
//!
//! When the types in `src/event.rs` change, regenerate them with:
//!
//! ```sh
//! CASULO_BLESS=1 cargo test -p casulo-trace --test schema_fresh
//! ```

use std::path::PathBuf;

#[test]
fn checked_in_schemas_are_fresh() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema");
    let bless = std::env::var("CASULO_BLESS").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for (name, generated) in casulo_trace::schema::schema_files() {
        let path = dir.join(name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        if on_disk == generated {
            continue;
        }
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, generated).unwrap();
            eprintln!("rewrote {}", path.display());
        } else {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "schema files out of date (the types in engine/trace/src/event.rs changed):\n  {}\n\
         regenerate them with:\n  CASULO_BLESS=1 cargo test -p casulo-trace --test schema_fresh\n\
         and commit the result",
        stale.join("\n  ")
    );
}
