//! Arrow buffers filled record by record, then frozen into arrays.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Int64Array, ListArray, StringArray, TimestampMillisecondArray,
};
use arrow_buffer::{BooleanBufferBuilder, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field};

/// Utf8 offsets are 32-bit: a column may hold at most this many bytes.
const MAX_BYTES: usize = i32::MAX as usize;

pub struct Strings {
    offsets: Vec<i32>,
    values: Vec<u8>,
    valid: BooleanBufferBuilder,
    nulls: usize,
}

impl Strings {
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Strings {
            offsets,
            values: Vec::with_capacity(bytes),
            valid: BooleanBufferBuilder::new(rows),
            nulls: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends a cell; false when the column would outgrow 32-bit offsets.
    #[inline]
    pub fn push(&mut self, value: Option<&[u8]>) -> bool {
        match value {
            Some(v) => {
                if self.values.len() + v.len() > MAX_BYTES {
                    return false;
                }
                self.values.extend_from_slice(v);
                self.valid.append(true);
            }
            None => {
                self.valid.append(false);
                self.nulls += 1;
            }
        }
        self.offsets.push(self.values.len() as i32);
        true
    }

    pub fn reserve(&mut self, rows: usize, bytes: usize) {
        self.offsets.reserve(rows);
        self.values.reserve(bytes);
    }

    pub fn mark(&self) -> (usize, usize) {
        (self.len(), self.nulls)
    }

    pub fn rollback(&mut self, (rows, nulls): (usize, usize)) {
        self.offsets.truncate(rows + 1);
        self.values.truncate(self.offsets[rows] as usize);
        self.valid.truncate(rows);
        self.nulls = nulls;
    }

    pub fn finish(mut self) -> Result<StringArray, String> {
        let nulls = if self.nulls == 0 {
            None
        } else {
            Some(NullBuffer::new(self.valid.finish()))
        };
        let offsets = OffsetBuffer::new(ScalarBuffer::from(self.offsets));
        StringArray::try_new(offsets, Buffer::from_vec(self.values), nulls)
            .map_err(|e| e.to_string())
    }
}

pub struct Bools {
    values: BooleanBufferBuilder,
    valid: BooleanBufferBuilder,
    nulls: usize,
}

impl Bools {
    pub fn with_capacity(rows: usize) -> Self {
        Bools {
            values: BooleanBufferBuilder::new(rows),
            valid: BooleanBufferBuilder::new(rows),
            nulls: 0,
        }
    }

    #[inline]
    pub fn push(&mut self, value: Option<bool>) {
        self.values.append(value.unwrap_or(false));
        self.valid.append(value.is_some());
        self.nulls += usize::from(value.is_none());
    }

    pub fn mark(&self) -> (usize, usize) {
        (self.values.len(), self.nulls)
    }

    pub fn rollback(&mut self, (rows, nulls): (usize, usize)) {
        self.values.truncate(rows);
        self.valid.truncate(rows);
        self.nulls = nulls;
    }

    pub fn finish(mut self) -> BooleanArray {
        let nulls = (self.nulls > 0).then(|| NullBuffer::new(self.valid.finish()));
        BooleanArray::new(self.values.finish(), nulls)
    }
}

/// list<string> without null lists or null items.
pub struct StringLists {
    offsets: Vec<i32>,
    items: Strings,
}

impl StringLists {
    pub fn with_capacity(rows: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        StringLists {
            offsets,
            items: Strings::with_capacity(rows, rows * 64),
        }
    }

    #[inline]
    pub fn push(&mut self, items: &[&[u8]]) -> bool {
        for item in items {
            if !self.items.push(Some(item)) {
                return false;
            }
        }
        self.offsets.push(self.items.len() as i32);
        true
    }

    pub fn mark(&self) -> (usize, (usize, usize)) {
        (self.offsets.len() - 1, self.items.mark())
    }

    pub fn rollback(&mut self, (rows, items): (usize, (usize, usize))) {
        self.offsets.truncate(rows + 1);
        self.items.rollback(items);
    }

    pub fn finish(self) -> Result<ListArray, String> {
        let field = Arc::new(Field::new("item", DataType::Utf8, true));
        let items: ArrayRef = Arc::new(self.items.finish()?);
        ListArray::try_new(
            field,
            OffsetBuffer::new(ScalarBuffer::from(self.offsets)),
            items,
            None,
        )
        .map_err(|e| e.to_string())
    }
}

pub fn timestamps(values: Vec<i64>) -> TimestampMillisecondArray {
    TimestampMillisecondArray::new(ScalarBuffer::from(values), None).with_timezone("UTC")
}

pub fn int64s(values: Vec<i64>) -> Int64Array {
    Int64Array::new(ScalarBuffer::from(values), None)
}

/// Each text repeated on its number of rows, in order.
pub fn repeated(runs: &[(&str, usize)]) -> Result<StringArray, String> {
    let rows: usize = runs.iter().map(|r| r.1).sum();
    let mut column = Strings::with_capacity(rows, runs.iter().map(|r| r.0.len() * r.1).sum());
    for &(text, n) in runs {
        for _ in 0..n {
            if !column.push(Some(text.as_bytes())) {
                return Err("source column above 2 GiB".into());
            }
        }
    }
    column.finish()
}
