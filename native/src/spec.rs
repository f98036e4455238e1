//! The column spec Python hands over (kmslog/decode/schema.py is the one
//! declaration), compiled into a trie of JSON paths walked once per record.

/// What one output column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The JSON string at the column's path (null for absent or JSON null).
    Str,
    /// The JSON boolean at the path.
    Bool,
    /// The canonical `eventTime` string at the path, as UTC milliseconds.
    Time,
    /// Key identifiers from the key-id sources, in source order, de-duplicated.
    KeyIds,
    /// The record's exact text.
    Raw,
    /// The file the record came from.
    Source,
    /// The record's position in the file (array index or 0-based line).
    RecordIndex,
    /// True when no string or boolean column's path holds a JSON null, so each
    /// null cell means the field is absent (other types send the file to Python).
    NullsAbsent,
}

impl Kind {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "string" => Kind::Str,
            "bool" => Kind::Bool,
            "timestamp" => Kind::Time,
            "key_ids" => Kind::KeyIds,
            "raw" => Kind::Raw,
            "source" => Kind::Source,
            "record_index" => Kind::RecordIndex,
            "nulls_absent" => Kind::NullsAbsent,
            _ => return None,
        })
    }
}

/// A path component meaning "each element of this array".
pub const EACH: &str = "[]";

#[derive(Clone, Copy, Debug)]
pub enum Leaf {
    Str(usize),
    Bool(usize),
    Time,
    KeyId(usize),
}

#[derive(Debug, Default)]
pub struct Child {
    pub key: Box<[u8]>,
    pub leaves: Vec<Leaf>,
    /// Trie node for the fields of an object value.
    pub object: Option<usize>,
    /// Trie node for the fields of each object in an array value.
    pub each: Option<usize>,
    /// A key whose presence sends the file to the Python path.
    pub stop: bool,
}

impl Child {
    pub fn wants_scalar(&self) -> bool {
        !self.leaves.is_empty()
    }
}

#[derive(Debug, Default)]
pub struct Node {
    pub children: Vec<Child>,
    /// `fingerprint` of each child's key, in the same order.
    prints: Vec<u64>,
}

/// A key's length and first seven bytes in one word: most keys a record holds
/// are not read, and comparing words rejects them without a `memcmp` call each.
#[inline]
pub fn fingerprint(key: &[u8]) -> u64 {
    let mut head = [0u8; 8];
    let n = key.len().min(7);
    head[..n].copy_from_slice(&key[..n]);
    head[7] = key.len().min(255) as u8;
    u64::from_le_bytes(head)
}

impl Node {
    /// The child whose key is `key`, trying `hint` first.
    #[inline]
    pub fn find(&self, key: &[u8], hint: usize) -> Option<usize> {
        let print = fingerprint(key);
        let same = |at: usize| {
            self.prints[at] == print && (key.len() <= 7 || *self.children[at].key == *key)
        };
        if hint < self.children.len() && same(hint) {
            return Some(hint);
        }
        (0..self.children.len()).find(|&at| same(at))
    }
}

#[derive(Debug)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    /// Index among the columns of its kind (string cells, bool cells).
    pub slot: usize,
}

#[derive(Debug)]
pub struct Spec {
    pub columns: Vec<Column>,
    pub nodes: Vec<Node>,
    pub strings: usize,
    pub bools: usize,
    pub has_time: bool,
    /// Per key-id source: the text a value must contain to count (None: any).
    pub key_needles: Vec<Option<Box<[u8]>>>,
}

/// Objects with more fields of interest than this would need a wider
/// duplicate-key mask.
pub const MAX_CHILDREN: usize = 64;

impl Spec {
    /// `columns`: (name, kind, JSON path) for each column to build;
    /// `key_sources`: (JSON path, required substring) in key_ids order;
    /// `stops`: top-level record keys that make the file go to the Python path.
    pub fn new(
        columns: &[(String, String, Vec<String>)],
        key_sources: &[(Vec<String>, Option<String>)],
        stops: &[String],
    ) -> Result<Self, String> {
        let mut spec = Spec {
            columns: Vec::new(),
            nodes: vec![Node::default()],
            strings: 0,
            bools: 0,
            has_time: false,
            key_needles: Vec::new(),
        };
        for (name, kind, path) in columns {
            let kind = Kind::parse(kind).ok_or_else(|| format!("unknown column kind {kind:?}"))?;
            let slot = match kind {
                Kind::Str => {
                    spec.strings += 1;
                    spec.insert(path, Leaf::Str(spec.strings - 1))?;
                    spec.strings - 1
                }
                Kind::Bool => {
                    spec.bools += 1;
                    spec.insert(path, Leaf::Bool(spec.bools - 1))?;
                    spec.bools - 1
                }
                Kind::Time => {
                    if spec.has_time {
                        return Err("more than one timestamp column".into());
                    }
                    spec.has_time = true;
                    spec.insert(path, Leaf::Time)?;
                    0
                }
                Kind::KeyIds => {
                    if !spec.key_needles.is_empty() {
                        return Err("more than one key_ids column".into());
                    }
                    for (source_path, needle) in key_sources {
                        spec.key_needles
                            .push(needle.as_ref().map(|n| n.as_bytes().into()));
                        spec.insert(source_path, Leaf::KeyId(spec.key_needles.len() - 1))?;
                    }
                    0
                }
                Kind::Raw | Kind::Source | Kind::RecordIndex | Kind::NullsAbsent => 0,
            };
            spec.columns.push(Column {
                name: name.clone(),
                kind,
                slot,
            });
        }
        if !spec.has_time {
            // Records without a usable time are rejections: always checked.
            return Err("the spec has no timestamp column".into());
        }
        for key in stops {
            let at = spec.child(0, key)?;
            spec.nodes[0].children[at].stop = true;
        }
        Ok(spec)
    }

    fn child(&mut self, node: usize, key: &str) -> Result<usize, String> {
        let children = &mut self.nodes[node].children;
        if let Some(at) = children.iter().position(|c| &*c.key == key.as_bytes()) {
            return Ok(at);
        }
        if children.len() == MAX_CHILDREN {
            return Err(format!("more than {MAX_CHILDREN} fields under one object"));
        }
        children.push(Child {
            key: key.as_bytes().into(),
            ..Child::default()
        });
        self.nodes[node].prints.push(fingerprint(key.as_bytes()));
        Ok(self.nodes[node].children.len() - 1)
    }

    fn insert(&mut self, path: &[String], leaf: Leaf) -> Result<(), String> {
        if path.is_empty() || path[0] == EACH || path.last().map(String::as_str) == Some(EACH) {
            return Err(format!("bad JSON path {path:?}"));
        }
        let mut node = 0;
        let mut i = 0;
        loop {
            let at = self.child(node, &path[i])?;
            if i + 1 == path.len() {
                self.nodes[node].children[at].leaves.push(leaf);
                return Ok(());
            }
            let each = path[i + 1] == EACH;
            let existing = {
                let c = &self.nodes[node].children[at];
                if each {
                    c.each
                } else {
                    c.object
                }
            };
            let next = match existing {
                Some(n) => n,
                None => {
                    self.nodes.push(Node::default());
                    let n = self.nodes.len() - 1;
                    let c = &mut self.nodes[node].children[at];
                    if each {
                        c.each = Some(n);
                    } else {
                        c.object = Some(n);
                    }
                    n
                }
            };
            node = next;
            i += if each { 2 } else { 1 };
            if i >= path.len() {
                return Err(format!("bad JSON path {path:?}"));
            }
        }
    }
}
