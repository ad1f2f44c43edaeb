//! `dumpguard sweep-merge`: joins the JSON Lines outputs of sharded sweeps into one output,
//! summary and HTML report. Each shard output is in path order, so this is a k-way merge that
//! streams (memory holds one line per input plus what the HTML shows). An entry present in two
//! inputs means the shards overlapped (different N, or the same shard twice): that is an error,
//! not something to paper over.

use super::error::SweepError;
use super::html::Html;
use super::record::Record;
use super::{now, summary, write_doc, Observer};
use crate::output::AtomicFile;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

/// What to merge and where (`dumpguard sweep-merge` takes them from its options).
#[derive(Debug, Default, Clone)]
pub struct MergeOptions {
    /// JSON Lines outputs of `dumpguard sweep --out` (one per shard).
    pub inputs: Vec<PathBuf>,
    /// Write the merged JSON Lines (atomically, mode 0600).
    pub out: Option<PathBuf>,
    /// Write the HTML report of the whole sweep.
    pub html: Option<PathBuf>,
}

struct Input {
    name: String,
    lines: std::io::Lines<BufReader<File>>,
    line_no: usize,
    /// The current line and its parsed record.
    head: Option<(String, Record)>,
}

impl Input {
    fn advance(&mut self) -> Result<(), SweepError> {
        self.head = None;
        for line in self.lines.by_ref() {
            self.line_no += 1;
            let line = line.map_err(|error| SweepError::MergeInput {
                name: self.name.clone(),
                error,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let rec: Record =
                serde_json::from_str(&line).map_err(|error| SweepError::NotARecord {
                    name: self.name.clone(),
                    line: self.line_no,
                    error,
                })?;
            self.head = Some((line, rec));
            break;
        }
        Ok(())
    }

    fn file(&self) -> Option<&str> {
        self.head.as_ref().map(|h| h.1.sweep.file.as_str())
    }
}

/// Merges the shard outputs in path order into `--out` and `--html`; each merged line and then
/// the summary go to `obs` (see [`Observer::line`]). Returns the summary of the whole sweep.
pub fn merge(a: &MergeOptions, obs: &dyn Observer) -> Result<summary::Summary, SweepError> {
    let mut inputs = Vec::new();
    for p in &a.inputs {
        let f = File::open(p).map_err(|error| SweepError::MergeInput {
            name: p.display().to_string(),
            error,
        })?;
        let mut i = Input {
            name: p.display().to_string(),
            lines: BufReader::new(f).lines(),
            line_no: 0,
            head: None,
        };
        i.advance()?;
        inputs.push(i);
    }
    let mut jsonl = match &a.out {
        Some(p) => Some(AtomicFile::create(p).map_err(|error| SweepError::Output {
            path: p.clone(),
            error,
        })?),
        None => None,
    };
    let mut builder = summary::Builder::default();
    let mut html = a.html.as_ref().map(|_| Html::default());
    let werr = SweepError::WriteMerged;
    let mut last: Option<String> = None;
    // Repeatedly take the input whose next entry comes first.
    while let Some(pick) = (0..inputs.len())
        .filter(|&i| inputs[i].head.is_some())
        .min_by(|&x, &y| inputs[x].file().cmp(&inputs[y].file()))
    {
        let file = inputs[pick].file().unwrap_or_default().to_string();
        if let Some(other) =
            (0..inputs.len()).find(|&i| i != pick && inputs[i].file() == Some(file.as_str()))
        {
            return Err(SweepError::Overlap {
                file,
                first: inputs[pick].name.clone(),
                second: inputs[other].name.clone(),
            });
        }
        if last.as_deref().is_some_and(|l| l >= file.as_str()) {
            return Err(SweepError::Order {
                name: inputs[pick].name.clone(),
                file,
            });
        }
        while inputs[pick].file() == Some(file.as_str()) {
            let (line, rec) = inputs[pick].head.take().expect("head present");
            if let Some(j) = jsonl.as_mut() {
                writeln!(j, "{line}").map_err(werr)?;
            }
            obs.line(&line).map_err(werr)?;
            builder.add(&rec);
            if let Some(h) = html.as_mut() {
                h.add(&rec);
            }
            inputs[pick].advance()?;
        }
        last = Some(file);
    }
    if let (Some(j), Some(p)) = (jsonl, &a.out) {
        j.commit().map_err(|error| SweepError::Output {
            path: p.clone(),
            error,
        })?;
    }
    let s = builder.finish(None, inputs.iter().map(|i| i.name.clone()).collect());
    if let (Some(h), Some(p)) = (html, &a.html) {
        write_doc(p, &h.render(&s, &now()))?;
    }
    obs.summary(&s).map_err(werr)?;
    Ok(s)
}
