//! `{{#medida nome}}`: a measurement's table and plot (being written).

/// The HTML of a measurement.
pub fn render(name: &str, _json: &str) -> Result<String, String> {
    Err(format!("a medida {name} ainda não pode ser mostrada"))
}
