//! JSON Schemas (draft 2020-12) of the documents dumpguard prints, derived with `schemars`
//! from the very types that serialise them, so a schema cannot drift from the output: the
//! copies shipped in `schemas/` are checked against these by a test, and real outputs are
//! validated against the shipped copies (`tests/it/schemas.rs`). `dumpguard schema NAME`
//! prints one.

use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{json, Value};

/// Every schema: (name, the document's `schema` value, what it describes).
pub const NAMES: &[(&str, &str, &str)] = &[
    (
        "report",
        crate::report::SCHEMA,
        "one dump's report: `scan --format json` of one file, each line of `--format jsonl`",
    ),
    (
        "scan",
        crate::report::collection::SCAN_SCHEMA,
        "`scan --format json` of several inputs or a directory",
    ),
    (
        "decision",
        crate::report::SCHEMA,
        "the gate's decision record (`gate --format json`, `--report`): a report plus `decision`",
    ),
    #[cfg(feature = "sweep")]
    (
        "sweep-record",
        crate::report::SCHEMA,
        "each line of the sweep's and sweep-merge's JSON Lines (`--out`): a report plus `sweep`",
    ),
    #[cfg(feature = "sweep")]
    (
        "sweep-summary",
        crate::sweep::summary::SCHEMA,
        "the sweep's and sweep-merge's summary (`--format json`)",
    ),
];

fn root<T: JsonSchema>() -> Value {
    // What dumpguard writes (members skipped when empty are optional), not what it reads.
    let mut settings = SchemaSettings::draft2020_12();
    settings.contract = schemars::generate::Contract::Serialize;
    let schema = settings.into_generator().into_root_schema_for::<T>();
    serde_json::to_value(schema).expect("a schema is JSON")
}

/// The schema named `name` (see [`NAMES`]), pretty-printed with a final newline.
pub fn generate(name: &str) -> Option<String> {
    let (_, tag, what) = NAMES.iter().find(|n| n.0 == name)?;
    let mut v = match name {
        "report" => root::<crate::report::Report>(),
        "scan" => root::<crate::report::collection::ScanCollection<'static>>(),
        "decision" => root::<crate::gate::decision::DecisionRecord>(),
        #[cfg(feature = "sweep")]
        "sweep-record" => root::<crate::sweep::record::Line>(),
        #[cfg(feature = "sweep")]
        "sweep-summary" => root::<crate::sweep::summary::Summary>(),
        _ => return None,
    };
    let obj = v.as_object_mut().expect("a root schema is an object");
    obj.insert("$id".into(), json!(format!("dumpguard/{name}.schema.json")));
    obj.insert("description".into(), json!(format!("dumpguard {what}")));
    // The `schema` member names the document: the one value it may take.
    if let Some(p) = obj.get_mut("properties").and_then(|p| p.get_mut("schema")) {
        *p = json!({ "type": "string", "const": tag });
    }
    closed(&mut v);
    Some(serde_json::to_string_pretty(&v).expect("a schema serialises") + "\n")
}

/// Every object with named members admits no others (`additionalProperties: false`): a member
/// renamed or added in the code but not in the shipped schema fails validation of real output
/// instead of passing unnoticed. Maps (by_severity ...) have no `properties` and stay open.
fn closed(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if o.contains_key("properties") && !o.contains_key("additionalProperties") {
                o.insert("additionalProperties".into(), Value::Bool(false));
            }
            o.values_mut().for_each(closed);
        }
        Value::Array(a) => a.iter_mut().for_each(closed),
        _ => {}
    }
}
