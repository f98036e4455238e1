//! One decompressed file → the spec's columns, or the reason the Python path
//! must decode it instead.
//!
//! The native engine takes the common shapes (`{"Records": [...]}`, a bare
//! array of records, NDJSON of records, a single record) and only files in
//! which every record would be kept by the Python path with cells this code
//! reproduces exactly. Anything else — a record the Python path would reject,
//! a field of another JSON type than its column's, a duplicate key among the
//! fields read, an EventBridge envelope, event-history output, invalid JSON or
//! UTF-8, nesting deeper than simd-json's limit, a non-canonical `eventTime` —
//! makes the whole file fall back, so rejections stay the Python path's own.

use std::sync::Arc;

use arrow_array::ArrayRef;
use simd_json::{Buffers, Node, StaticNode, Tape, INPUT_PADDING};

use crate::columns::{int64s, repeated, timestamps, Bools, StringLists, Strings};
use crate::spec::{Kind, Leaf, Spec};
use crate::time::canonical_millis;

pub type Fallback = &'static str;

/// Deeper documents go to the Python path: its decoders have limits of their
/// own near 1,000 levels, and CloudTrail records nest about ten deep.
pub const MAX_DEPTH: usize = 64;

/// How one file was decoded: how positions count ("record": index in an
/// array, "line": NDJSON) and how many rows it added.
pub struct FileRows {
    pub position_kind: &'static str,
    pub rows: usize,
}

/// Cells of one record while its fields are walked.
struct Cells<'a> {
    strings: Vec<Option<&'a str>>,
    bools: Vec<Option<bool>>,
    time: Option<&'a str>,
    keys: Vec<(usize, &'a str)>,
    /// A JSON null where a string or boolean column reads.
    leaf_null: bool,
}

impl<'a> Cells<'a> {
    fn new(spec: &Spec) -> Self {
        Cells {
            strings: vec![None; spec.strings],
            bools: vec![None; spec.bools],
            time: None,
            keys: Vec::new(),
            leaf_null: false,
        }
    }

    fn clear(&mut self) {
        self.strings.iter_mut().for_each(|c| *c = None);
        self.bools.iter_mut().for_each(|c| *c = None);
        self.time = None;
        self.keys.clear();
        self.leaf_null = false;
    }
}

/// Builders for every column of the spec, shared by the files of one call.
pub struct Builders {
    strings: Vec<Strings>,
    bools: Vec<Bools>,
    times: Vec<i64>,
    keys: Option<StringLists>,
    raw: Strings,
    indexes: Vec<i64>,
    nulls_absent: Option<Bools>,
}

/// Builder lengths to roll back to when a file falls back.
pub struct Mark {
    strings: Vec<(usize, usize)>,
    bools: Vec<(usize, usize)>,
    keys: Option<(usize, (usize, usize))>,
    raw: (usize, usize),
    rows: usize,
    nulls_absent: Option<(usize, usize)>,
}

impl Builders {
    pub fn rows(&self) -> usize {
        self.indexes.len()
    }

    /// Room for a file of `bytes` bytes of text (rows of about 1 KiB or more).
    pub fn reserve(&mut self, bytes: usize) {
        let rows = bytes / 1024 + 1;
        for b in &mut self.strings {
            b.reserve(rows, rows * 24);
        }
        self.raw.reserve(rows, bytes);
        self.times.reserve(rows);
        self.indexes.reserve(rows);
    }

    pub fn mark(&self) -> Mark {
        Mark {
            strings: self.strings.iter().map(Strings::mark).collect(),
            bools: self.bools.iter().map(Bools::mark).collect(),
            keys: self.keys.as_ref().map(StringLists::mark),
            raw: self.raw.mark(),
            rows: self.rows(),
            nulls_absent: self.nulls_absent.as_ref().map(Bools::mark),
        }
    }

    pub fn rollback(&mut self, mark: Mark) {
        for (b, m) in self.strings.iter_mut().zip(mark.strings) {
            b.rollback(m);
        }
        for (b, m) in self.bools.iter_mut().zip(mark.bools) {
            b.rollback(m);
        }
        if let (Some(b), Some(m)) = (self.keys.as_mut(), mark.keys) {
            b.rollback(m);
        }
        if let (Some(b), Some(m)) = (self.nulls_absent.as_mut(), mark.nulls_absent) {
            b.rollback(m);
        }
        self.raw.rollback(mark.raw);
        self.times.truncate(mark.rows);
        self.indexes.truncate(mark.rows);
    }

    pub fn new(spec: &Spec, rows: usize, bytes: usize) -> Self {
        let wants = |k: Kind| spec.columns.iter().any(|c| c.kind == k);
        Builders {
            strings: (0..spec.strings)
                .map(|_| Strings::with_capacity(rows, rows * 24))
                .collect(),
            bools: (0..spec.bools)
                .map(|_| Bools::with_capacity(rows))
                .collect(),
            times: Vec::with_capacity(rows),
            keys: wants(Kind::KeyIds).then(|| StringLists::with_capacity(rows)),
            raw: Strings::with_capacity(rows, if wants(Kind::Raw) { bytes } else { 0 }),
            indexes: Vec::with_capacity(rows),
            nulls_absent: wants(Kind::NullsAbsent).then(|| Bools::with_capacity(rows)),
        }
    }
}

fn skip(tape: &[Node<'_>], t: usize) -> usize {
    match tape[t] {
        Node::Object { count, .. } | Node::Array { count, .. } => t + 1 + count,
        _ => t + 1,
    }
}

/// Walks the object at `tape[t]` against trie node `node`; returns the tape
/// position after it.
fn walk<'a>(
    spec: &Spec,
    tape: &[Node<'a>],
    mut t: usize,
    node: usize,
    cells: &mut Cells<'a>,
) -> Result<usize, Fallback> {
    let Node::Object { len, count } = tape[t] else {
        return Err("a record or field is not a JSON object");
    };
    let end = t + 1 + count;
    t += 1;
    let trie = &spec.nodes[node];
    let children = &trie.children;
    let mut seen: u64 = 0;
    // CloudTrail writes fields in a steady order: try the one after the last match first.
    let mut hint = 0usize;
    for _ in 0..len {
        let Node::String(key) = tape[t] else {
            return Err("malformed tape");
        };
        t += 1;
        let key = key.as_bytes();
        let Some(at) = trie.find(key, hint) else {
            t = skip(tape, t);
            continue;
        };
        hint = at + 1;
        if seen & (1 << at) != 0 {
            return Err("duplicate key among the fields read");
        }
        seen |= 1 << at;
        let child = &children[at];
        if child.stop {
            return Err("EventBridge envelope (or a record with a detail field)");
        }
        match tape[t] {
            Node::Static(StaticNode::Null) => {
                if child
                    .leaves
                    .iter()
                    .any(|leaf| matches!(leaf, Leaf::Str(_) | Leaf::Bool(_)))
                {
                    cells.leaf_null = true;
                }
                t += 1;
            }
            Node::String(value) => {
                if child.object.is_some() || child.each.is_some() {
                    return Err("a string where an object or array is read");
                }
                for leaf in &child.leaves {
                    match *leaf {
                        Leaf::Str(i) => cells.strings[i] = Some(value),
                        Leaf::Time => cells.time = Some(value),
                        Leaf::KeyId(slot) => cells.keys.push((slot, value)),
                        Leaf::Bool(_) => return Err("a string where a boolean is read"),
                    }
                }
                t += 1;
            }
            Node::Static(StaticNode::Bool(value)) => {
                if child.object.is_some() || child.each.is_some() {
                    return Err("a boolean where an object or array is read");
                }
                for leaf in &child.leaves {
                    match *leaf {
                        Leaf::Bool(i) => cells.bools[i] = Some(value),
                        _ => return Err("a boolean where a string is read"),
                    }
                }
                t += 1;
            }
            Node::Object { .. } => {
                let Some(inner) = child.object else {
                    return Err("an object where a scalar or array is read");
                };
                if child.wants_scalar() || child.each.is_some() {
                    return Err("an object where a scalar or array is read");
                }
                t = walk(spec, tape, t, inner, cells)?;
            }
            Node::Array { len: items, .. } => {
                let Some(each) = child.each else {
                    return Err("an array where a scalar or object is read");
                };
                if child.wants_scalar() || child.object.is_some() {
                    return Err("an array where a scalar or object is read");
                }
                t += 1;
                for _ in 0..items {
                    t = walk(spec, tape, t, each, cells)?;
                }
            }
            Node::Static(_) => return Err("a number where a string, boolean or object is read"),
        }
    }
    debug_assert_eq!(t, end);
    Ok(end)
}

/// Appends the walked record's cells to the builders.
fn emit(
    spec: &Spec,
    cells: &Cells<'_>,
    raw: &[u8],
    index: i64,
    b: &mut Builders,
) -> Result<(), Fallback> {
    let time = cells.time.ok_or("a record without eventTime")?;
    let millis = canonical_millis(time).ok_or("an eventTime not in the canonical form")?;
    b.times.push(millis);
    for (builder, cell) in b.strings.iter_mut().zip(&cells.strings) {
        if !builder.push(cell.map(str::as_bytes)) {
            return Err("a column above 2 GiB");
        }
    }
    for (builder, cell) in b.bools.iter_mut().zip(&cells.bools) {
        builder.push(*cell);
    }
    if let Some(lists) = b.keys.as_mut() {
        let mut found: Vec<(usize, &[u8])> = cells
            .keys
            .iter()
            .map(|&(slot, v)| (slot, v.as_bytes()))
            .filter(|&(slot, v)| {
                !v.is_empty()
                    && spec.key_needles[slot]
                        .as_deref()
                        .is_none_or(|needle| v.windows(needle.len()).any(|w| w == needle))
            })
            .collect();
        found.sort_by_key(|&(slot, _)| slot); // stable: array order within a source
        let mut items: Vec<&[u8]> = Vec::with_capacity(found.len());
        for (_, v) in found {
            if !items.contains(&v) {
                items.push(v);
            }
        }
        if !lists.push(&items) {
            return Err("a column above 2 GiB");
        }
    }
    if !b.raw.push(Some(raw)) {
        return Err("a column above 2 GiB");
    }
    if let Some(flags) = b.nulls_absent.as_mut() {
        flags.push(Some(!cells.leaf_null));
    }
    b.indexes.push(index);
    Ok(())
}

/// The structural index of the bracket closing the one at structural `s`.
fn closing(idx: &[u32], text: &[u8], s: usize) -> Result<usize, Fallback> {
    let mut depth = 0usize;
    for (j, &at) in idx.iter().enumerate().skip(s) {
        match text.get(at as usize) {
            Some(b'{' | b'[') => depth += 1,
            Some(b'}' | b']') => {
                depth -= 1;
                if depth == 0 {
                    return Ok(j);
                }
            }
            _ => {}
        }
    }
    Err("unbalanced structure")
}

/// The last structural index of the value starting at structural `s`.
fn value_end(idx: &[u32], text: &[u8], s: usize) -> Result<usize, Fallback> {
    match text.get(idx[s] as usize) {
        Some(b'{' | b'[') => closing(idx, text, s),
        _ => Ok(s),
    }
}

/// Buffers reused from file to file (and call to call) by one thread: fresh
/// multi-megabyte allocations per file cost more in page faults than parsing.
pub struct Scratch {
    copy: Vec<u8>,
    buffers: Buffers,
    tape: Option<Tape<'static>>,
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            copy: Vec::new(),
            buffers: Buffers::with_max_depth(0, MAX_DEPTH),
            tape: None,
        }
    }
}

/// Scratch kept past a file larger than this is freed (a big file should not
/// pin its buffers for the rest of the run).
const KEEP_BYTES: usize = 64 * 1024 * 1024;

impl Scratch {
    pub fn trim(&mut self) {
        if self.copy.capacity() > KEEP_BYTES {
            *self = Scratch::default();
        }
    }
}

/// Parses `text` with simd-json and calls `f` with the tape and the byte
/// offsets of the structural characters; Err when it is not one JSON document.
fn parsed<R>(
    scratch: &mut Scratch,
    text: &[u8],
    f: impl FnOnce(&[Node<'_>], &[u32]) -> R,
) -> Result<R, Fallback> {
    let Scratch {
        copy,
        buffers,
        tape,
    } = scratch;
    copy.clear();
    copy.extend_from_slice(text);
    copy.resize(text.len() + INPUT_PADDING, b' ');
    let mut current: Tape<'_> = tape.take().unwrap_or_else(Tape::null).reset();
    let result = match simd_json::fill_tape_padded(copy, text.len(), buffers, &mut current) {
        Ok(()) => Ok(f(&current.0, buffers.structural_indexes())),
        Err(_) => Err("not one JSON document"),
    };
    *tape = Some(current.reset());
    result
}

/// Appends the rows of one decompressed file to `b`; on a fallback `b` is
/// left as it was.
pub fn decode(
    spec: &Spec,
    text: &[u8],
    b: &mut Builders,
    scratch: &mut Scratch,
) -> Result<FileRows, Fallback> {
    let mark = b.mark();
    let result = if text.len() > SPLIT_BYTES {
        pieces(spec, text, scratch, b)
    } else {
        match parsed(scratch, text, |tape, idx| {
            document(spec, text, tape, idx, b)
        }) {
            Ok(inner) => inner,
            Err(_) => lines(spec, text, scratch, b),
        }
    };
    match result {
        Ok(position_kind) => Ok(FileRows {
            position_kind,
            rows: b.rows() - mark.rows,
        }),
        Err(reason) => {
            b.rollback(mark);
            Err(reason)
        }
    }
}

fn document(
    spec: &Spec,
    text: &[u8],
    tape: &[Node<'_>],
    idx: &[u32],
    b: &mut Builders,
) -> Result<&'static str, Fallback> {
    let first = *idx.first().ok_or("empty document")? as usize;
    let mut cells = Cells::new(spec);
    match text[first] {
        b'[' => {
            array(spec, text, tape, idx, 0, 0, &mut cells, b, 0)?;
        }
        b'{' => {
            let Node::Object { len, .. } = tape[0] else {
                return Err("malformed tape");
            };
            let (mut t, mut s) = (1usize, 1usize);
            let mut records = None;
            let mut other_shape = false;
            for _ in 0..len {
                let Node::String(key) = tape[t] else {
                    return Err("malformed tape");
                };
                match key {
                    "Records" if records.is_some() => return Err("two Records keys"),
                    "Records" => records = Some((t + 1, s + 2)),
                    "Events" | "detail" | "detail-type" => other_shape = true,
                    _ => {}
                }
                t = skip(tape, t + 1);
                s = value_end(idx, text, s + 2)? + 2;
            }
            match records {
                Some((t, s)) => {
                    if !matches!(tape[t], Node::Array { .. }) {
                        return Err("Records is not an array");
                    }
                    array(spec, text, tape, idx, t, s, &mut cells, b, 0)?;
                }
                None if other_shape => return Err("event history or EventBridge shape"),
                None => {
                    // A single record: the whole document.
                    let last = closing(idx, text, 0)?;
                    cells.clear();
                    walk(spec, tape, 0, 0, &mut cells)?;
                    emit(spec, &cells, &text[first..=idx[last] as usize], 0, b)?;
                }
            }
        }
        _ => return Err("a document that is not an object or array"),
    }
    Ok("record")
}

#[allow(clippy::too_many_arguments)]
fn array<'a>(
    spec: &Spec,
    text: &[u8],
    tape: &[Node<'a>],
    idx: &[u32],
    t: usize,
    s: usize,
    cells: &mut Cells<'a>,
    b: &mut Builders,
    first_index: usize,
) -> Result<usize, Fallback> {
    let Node::Array { len, .. } = tape[t] else {
        return Err("malformed tape");
    };
    let (mut t, mut s) = (t + 1, s + 1);
    for i in 0..len {
        if !matches!(tape[t], Node::Object { .. }) || text[idx[s] as usize] != b'{' {
            return Err("a record that is not a JSON object");
        }
        let close = closing(idx, text, s)?;
        cells.clear();
        t = walk(spec, tape, t, 0, cells)?;
        emit(
            spec,
            cells,
            &text[idx[s] as usize..=idx[close] as usize],
            (first_index + i) as i64,
            b,
        )?;
        s = close + 2;
    }
    Ok(len)
}

/// Documents above this are parsed a piece at a time (a tape costs about five
/// bytes per byte of text).
pub const SPLIT_BYTES: usize = 8 * 1024 * 1024;
const PIECE_BYTES: usize = 2 * 1024 * 1024;
/// Where CloudTrail starts a record after the previous one.
const RECORD_START: &[u8] = b"},{\"eventVersion\":";

fn skip_ws(text: &[u8], mut i: usize) -> usize {
    while i < text.len() && is_ws(text[i]) {
        i += 1;
    }
    i
}

/// The bytes between `[` and `]` of a document that is exactly
/// `{"Records": [...]}` (JSON whitespace allowed).
fn records_content(text: &[u8]) -> Option<(usize, usize)> {
    let mut i = skip_ws(text, 0);
    for token in [&b"{"[..], b"\"Records\"", b":", b"["] {
        if !text[i..].starts_with(token) {
            return None;
        }
        i = skip_ws(text, i + token.len());
    }
    let mut j = text.len();
    for token in [b'}', b']'] {
        while j > i && is_ws(text[j - 1]) {
            j -= 1;
        }
        if j <= i || text[j - 1] != token {
            return None;
        }
        j -= 1;
    }
    Some((i, j))
}

/// A big `{"Records": [...]}` document, parsed in pieces cut where a record
/// ends and the next begins. A cut anywhere else leaves a piece that is not a
/// JSON array of whole values (an unclosed string or bracket), so a piece that
/// parses proves its cut; any piece that does not sends the file to Python.
fn pieces(
    spec: &Spec,
    text: &[u8],
    scratch: &mut Scratch,
    b: &mut Builders,
) -> Result<&'static str, Fallback> {
    let (start, end) =
        records_content(text).ok_or("a big document not in the plain Records shape")?;
    let mut piece = Vec::new();
    let (mut pos, mut index) = (start, 0usize);
    while pos < end {
        let cut = if end - pos <= PIECE_BYTES {
            end
        } else {
            let from = pos + PIECE_BYTES;
            text[from..end]
                .windows(RECORD_START.len())
                .position(|w| w == RECORD_START)
                .map_or(end, |at| from + at + 1)
        };
        piece.clear();
        piece.push(b'[');
        piece.extend_from_slice(&text[pos..cut]);
        piece.push(b']');
        let piece_text = &piece[..];
        index += parsed(scratch, piece_text, |tape, idx| {
            if !matches!(tape.first(), Some(Node::Array { .. })) {
                return Err("a piece that is not an array");
            }
            let mut cells = Cells::new(spec);
            array(spec, piece_text, tape, idx, 0, 0, &mut cells, b, index)
        })??;
        // Past the `,` between the records.
        pos = if cut < end { cut + 1 } else { end };
    }
    Ok("record")
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn trim(line: &[u8]) -> &[u8] {
    let start = line.iter().position(|&c| !is_ws(c)).unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|&c| !is_ws(c))
        .map_or(start, |e| e + 1);
    &line[start..end]
}

/// NDJSON: two or more non-blank lines, each one JSON object.
fn lines(
    spec: &Spec,
    text: &[u8],
    scratch: &mut Scratch,
    b: &mut Builders,
) -> Result<&'static str, Fallback> {
    let mut count = 0usize;
    for (number, line) in text.split(|&c| c == b'\n').enumerate() {
        let line = trim(line);
        if line.is_empty() {
            continue;
        }
        if line[0] != b'{' {
            return Err("a line that is not a JSON object");
        }
        parsed(scratch, line, |tape, _| {
            let mut cells = Cells::new(spec);
            walk(spec, tape, 0, 0, &mut cells)?;
            emit(spec, &cells, line, number as i64, b)
        })??;
        count += 1;
    }
    if count < 2 {
        // One value (or none) is not NDJSON to the Python path.
        return Err("not JSON in a shape the native engine reads");
    }
    Ok("line")
}

/// The columns of the spec, in its order; `sources`: each decoded file's path
/// and row count, in the order the files were added.
pub fn finish(
    spec: &Spec,
    b: Builders,
    sources: &[(&str, usize)],
) -> Result<Vec<(String, ArrayRef)>, Fallback> {
    let mut strings = b.strings.into_iter().map(Some).collect::<Vec<_>>();
    let mut bools = b.bools.into_iter().map(Some).collect::<Vec<_>>();
    let (mut times, mut keys, mut raw, mut indexes, mut flags) = (
        Some(b.times),
        b.keys,
        Some(b.raw),
        Some(b.indexes),
        b.nulls_absent,
    );
    let mut columns = Vec::with_capacity(spec.columns.len());
    for column in &spec.columns {
        let array: ArrayRef = match column.kind {
            Kind::Str => Arc::new(
                strings[column.slot]
                    .take()
                    .ok_or("spec")?
                    .finish()
                    .map_err(|_| "string column")?,
            ),
            Kind::Bool => Arc::new(bools[column.slot].take().ok_or("spec")?.finish()),
            Kind::Time => Arc::new(timestamps(times.take().ok_or("spec")?)),
            Kind::KeyIds => Arc::new(
                keys.take()
                    .ok_or("spec")?
                    .finish()
                    .map_err(|_| "key_ids column")?,
            ),
            Kind::Raw => Arc::new(
                raw.take()
                    .ok_or("spec")?
                    .finish()
                    .map_err(|_| "raw column")?,
            ),
            Kind::Source => Arc::new(repeated(sources).map_err(|_| "source column")?),
            Kind::RecordIndex => Arc::new(int64s(indexes.take().ok_or("spec")?)),
            Kind::NullsAbsent => Arc::new(flags.take().ok_or("spec")?.finish()),
        };
        columns.push((column.name.clone(), array));
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, BooleanArray, ListArray, StringArray, TimestampMillisecondArray};

    fn spec() -> Spec {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let columns = vec![
            ("event_time".into(), "timestamp".into(), p(&["eventTime"])),
            ("event_name".into(), "string".into(), p(&["eventName"])),
            (
                "issuer".into(),
                "string".into(),
                p(&["userIdentity", "sessionContext", "sessionIssuer", "arn"]),
            ),
            ("read_only".into(), "bool".into(), p(&["readOnly"])),
            ("key_ids".into(), "key_ids".into(), vec![]),
            ("raw".into(), "raw".into(), vec![]),
            ("source".into(), "source".into(), vec![]),
            ("record_index".into(), "record_index".into(), vec![]),
            ("nulls_absent".into(), "nulls_absent".into(), vec![]),
        ];
        let keys = vec![
            (p(&["resources", "[]", "ARN"]), Some(":kms:".to_string())),
            (p(&["requestParameters", "keyId"]), None),
        ];
        Spec::new(&columns, &keys, &["detail".to_string()]).unwrap()
    }

    fn run(spec: &Spec, texts: &[&str]) -> Result<Vec<(String, ArrayRef)>, Fallback> {
        let mut b = Builders::new(spec, 0, 0);
        let mut runs = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let rows = decode(spec, t.as_bytes(), &mut b, &mut Scratch::default())?;
            runs.push((["a", "b", "c"][i], rows.rows));
        }
        finish(spec, b, &runs)
    }

    const ONE: &str = r#"{"eventTime":"1970-01-01T00:00:01Z","eventName":"Decrypt","readOnly":true,
        "userIdentity":{"sessionContext":{"sessionIssuer":{"arn":"r"}}},
        "resources":[{"ARN":"arn:aws:kms:k"},{"ARN":"arn:aws:s3:b"},{"ARN":"arn:aws:kms:k"}],
        "requestParameters":{"keyId":"alias\/a","other":[1,{"x":null}]}}"#;

    #[test]
    fn records_document_cells_spans_and_keys() {
        let spec = spec();
        let doc = format!(
            "{{\"x\":[1,2],\"Records\":[ {ONE} , {{\"eventTime\":\"1970-01-01T00:00:02Z\"}}]}}"
        );
        let cols = run(&spec, &[&doc]).unwrap();
        let get = |n: &str| cols.iter().find(|c| c.0 == n).unwrap().1.clone();
        let t = get("event_time");
        let t = t
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .unwrap();
        assert_eq!(t.values().to_vec(), vec![1000, 2000]);
        let raw = get("raw");
        let raw = raw.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(raw.value(0), ONE);
        assert_eq!(raw.value(1), r#"{"eventTime":"1970-01-01T00:00:02Z"}"#);
        let names = get("event_name");
        let names = names.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!((names.value(0), names.is_null(1)), ("Decrypt", true));
        let keys = get("key_ids");
        let keys = keys.as_any().downcast_ref::<ListArray>().unwrap();
        let first = keys.value(0);
        let first = first.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(
            first.iter().flatten().collect::<Vec<_>>(),
            vec!["arn:aws:kms:k", "alias/a"]
        );
        assert_eq!(keys.value(1).len(), 0);
        assert_eq!(
            get("issuer")
                .as_any()
                .downcast_ref::<StringArray>()
                .unwrap()
                .value(0),
            "r"
        );
    }

    #[test]
    fn nulls_absent_tells_a_json_null_from_an_absent_field() {
        let spec = spec();
        let doc = r#"[{"eventTime":"1970-01-01T00:00:01Z"},
            {"eventTime":"1970-01-01T00:00:01Z","eventName":null},
            {"eventTime":"1970-01-01T00:00:01Z","readOnly":null},
            {"eventTime":"1970-01-01T00:00:01Z","userIdentity":null},
            {"eventTime":"1970-01-01T00:00:01Z","userIdentity":{"sessionContext":null}},
            {"eventTime":"1970-01-01T00:00:01Z",
             "userIdentity":{"sessionContext":{"sessionIssuer":{"arn":null}}}},
            {"eventTime":"1970-01-01T00:00:01Z","requestParameters":{"keyId":null},"x":null}]"#;
        let cols = run(&spec, &[doc]).unwrap();
        let flags = &cols.iter().find(|c| c.0 == "nulls_absent").unwrap().1;
        let flags = flags.as_any().downcast_ref::<BooleanArray>().unwrap();
        assert_eq!(
            flags.iter().collect::<Vec<_>>(),
            [true, false, false, true, true, false, true].map(Some)
        );
    }

    #[test]
    fn a_fallback_leaves_earlier_files_intact() {
        let spec = spec();
        let good = format!("[{ONE}]");
        let mut b = Builders::new(&spec, 0, 0);
        assert!(decode(&spec, good.as_bytes(), &mut b, &mut Scratch::default()).is_ok());
        let bad = format!("[{ONE},{{\"eventTime\":5}}]");
        assert!(decode(&spec, bad.as_bytes(), &mut b, &mut Scratch::default()).is_err());
        assert_eq!(b.rows(), 1);
        let cols = finish(&spec, b, &[("a", 1)]).unwrap();
        assert!(cols.iter().all(|(_, a)| a.len() == 1));
    }

    #[test]
    fn shapes_and_fallbacks() {
        let spec = spec();
        let ndjson = format!(
            "{}\n\n{}\r\n",
            ONE.replace('\n', " "),
            ONE.replace('\n', " ")
        );
        let mut b = Builders::new(&spec, 0, 0);
        let rows = decode(&spec, ndjson.as_bytes(), &mut b, &mut Scratch::default()).unwrap();
        assert_eq!((rows.position_kind, rows.rows), ("line", 2));
        assert_eq!(b.indexes, vec![0, 2]);
        for bad in [
            r#"{"Records":[{"eventTime":"1970-01-01T00:00:01Z","eventName":"a","eventName":"b"}]}"#,
            r#"{"Records":[{"eventTime":"1970-01-01T00:00:01Z","eventName":1}]}"#,
            r#"{"Records":[{"eventTime":"1970-01-01T00:00:01.5Z"}]}"#,
            r#"[{"eventTime":"1970-01-01T00:00:01Z","detail":{}}]"#,
            r#"{"Events":[]}"#,
            r#"{"Records":{}}"#,
            r#"[1]"#,
            "",
        ] {
            let mut b = Builders::new(&spec, 0, 0);
            assert!(
                decode(&spec, bad.as_bytes(), &mut b, &mut Scratch::default()).is_err(),
                "{bad}"
            );
        }
    }
}
