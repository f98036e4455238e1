//! kmslog's native decoder: CloudTrail files (gzip or plain) → Arrow arrays of
//! the event schema, handed to Python through the Arrow C data interface.
//! The column spec comes from `kmslog/decode/schema.py`; see docs/ingest.md,
//! "Native engine", for what is decoded here and what falls back to Python.

pub mod columns;
pub mod inflate;
pub mod spec;
pub mod time;
pub mod walk;

use arrow_array::{Array, ArrayRef, StructArray};
use arrow_schema::{Field, Fields};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use spec::Spec;
pub use walk::{Fallback, FileRows};

use std::cell::RefCell;
use std::io::Read;

use walk::{Builders, Scratch};

/// Buffers a thread reuses for every file it decodes.
struct ThreadScratch {
    file: Vec<u8>,
    inflated: Vec<u8>,
    parse: Scratch,
}

thread_local! {
    static SCRATCH: RefCell<ThreadScratch> = RefCell::new(ThreadScratch {
        file: Vec::new(),
        inflated: Vec::new(),
        parse: Scratch::default(),
    });
}

/// Above this, a thread's file buffers are freed after use.
const KEEP_BYTES: usize = 64 * 1024 * 1024;

/// The rows of several files decoded into one set of columns.
pub struct Decoded {
    /// Per file, in order: its rows in `columns`, or why Python must read it.
    pub files: Vec<Result<FileRows, Fallback>>,
    pub columns: Vec<(String, ArrayRef)>,
}

/// Decodes files, in order, into one set of columns; `load(i, buffer)` fills
/// `buffer` with the bytes of file `i`.
fn decode_each<F>(
    spec: &Spec,
    sources: &[String],
    max_size: usize,
    mut load: F,
) -> Result<Decoded, String>
where
    F: FnMut(usize, &mut Vec<u8>) -> Result<(), Fallback>,
{
    SCRATCH.with_borrow_mut(|scratch| {
        let mut b = Builders::new(spec, 0, 0);
        let mut files = Vec::with_capacity(sources.len());
        let mut runs: Vec<(&str, usize)> = Vec::new();
        for (i, source) in sources.iter().enumerate() {
            let ThreadScratch {
                file,
                inflated,
                parse,
            } = &mut *scratch;
            let result = load(i, file).and_then(|()| {
                if file.starts_with(b"PK\x03\x04") {
                    return Err("zip archive");
                }
                let text = inflate::contents(file, max_size, inflated)?;
                b.reserve(text.len());
                walk::decode(spec, text, &mut b, parse)
            });
            if let Ok(rows) = &result {
                runs.push((source.as_str(), rows.rows));
            }
            files.push(result);
            parse.trim();
            for buffer in [file, inflated] {
                if buffer.capacity() > KEEP_BYTES {
                    *buffer = Vec::new();
                }
            }
        }
        let columns = walk::finish(spec, b, &runs).map_err(str::to_string)?;
        Ok(Decoded { files, columns })
    })
}

/// Opens `path` only if it is a regular file, never blocking: discovery skipped
/// special files already, but one may be swapped in since (a FIFO would block the
/// read forever). Non-blocking reads of a regular file behave as blocking ones.
fn open_regular(path: &str) -> Result<std::fs::File, &'static str> {
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK | O_NOCTTY on Linux (asm-generic values, x86-64 and arm64).
    const FLAGS: i32 = 0o4000 | 0o400;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(FLAGS)
        .open(path)
        .map_err(|_| "cannot read the file")?;
    match file.metadata() {
        Ok(meta) if meta.is_file() => Ok(file),
        _ => Err("not a regular file"),
    }
}

/// Reads, inflates and decodes files, in order.
pub fn decode_paths(spec: &Spec, paths: &[String], max_size: usize) -> Result<Decoded, String> {
    decode_each(spec, paths, max_size, |i, buffer| {
        buffer.clear();
        let mut file = open_regular(&paths[i])?;
        file.read_to_end(buffer)
            .map(|_| ())
            .map_err(|_| "cannot read the file")
    })
}

/// Inflates (when gzip) and decodes file contents, in order.
pub fn decode_contents(
    spec: &Spec,
    contents: Vec<(Vec<u8>, String)>,
    max_size: usize,
) -> Result<Decoded, String> {
    let (datas, sources): (Vec<Vec<u8>>, Vec<String>) = contents.into_iter().unzip();
    decode_each(spec, &sources, max_size, |i, buffer| {
        buffer.clear();
        buffer.extend_from_slice(&datas[i]);
        Ok(())
    })
}

/// Decodes `paths` on `threads` threads, each taking runs of consecutive
/// files; the results in path order.
pub fn decode_parallel(
    spec: &Spec,
    paths: &[String],
    max_size: usize,
    threads: usize,
    run: usize,
) -> Vec<Result<Decoded, String>> {
    let chunks: Vec<&[String]> = paths.chunks(run.max(1)).collect();
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, Result<Decoded, String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.clamp(1, chunks.len().max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(chunk) = chunks.get(i) else { break };
                        mine.push((i, decode_paths(spec, chunk, max_size)));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// The decoded columns as one struct array (a record batch's layout).
pub fn to_struct(columns: Vec<(String, ArrayRef)>) -> Result<StructArray, String> {
    let fields: Fields = columns
        .iter()
        .map(|(name, array)| Field::new(name, array.data_type().clone(), true))
        .collect();
    let arrays: Vec<ArrayRef> = columns.into_iter().map(|(_, a)| a).collect();
    StructArray::try_new(fields, arrays, None).map_err(|e| e.to_string())
}

/// The SIMD kernel simd-json selected on this CPU.
pub fn simd_kernel() -> String {
    format!("{:?}", simd_json::Deserializer::algorithm())
}

#[cfg(feature = "python")]
mod python {
    use super::*;
    use arrow_array::ffi::to_ffi;
    use pyo3::exceptions::PyValueError;
    use pyo3::prelude::*;
    use pyo3::types::PyCapsule;
    use std::sync::Arc;

    #[pyclass(frozen, module = "kmslog._native")]
    struct Decoder {
        spec: Arc<Spec>,
    }

    /// (files, columns); files[i] is ("native", position_kind, rows) or
    /// ("fallback", reason); columns[j] is (name, schema_capsule, array_capsule).
    fn outcome<'py>(
        py: Python<'py>,
        decoded: Result<Decoded, String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let decoded = decoded.map_err(PyValueError::new_err)?;
        let files = decoded
            .files
            .into_iter()
            .map(|f| match f {
                Ok(rows) => ("native", rows.position_kind, rows.rows)
                    .into_pyobject(py)
                    .map(Bound::into_any),
                Err(reason) => ("fallback", reason).into_pyobject(py).map(Bound::into_any),
            })
            .collect::<PyResult<Vec<_>>>()?;
        // One C array per column, not one struct: an importer ties every buffer
        // of an imported array to its release, so a row kept of one column
        // would otherwise keep every column of the call alive.
        let mut columns = Vec::with_capacity(decoded.columns.len());
        for (name, array) in decoded.columns {
            let (ffi_array, ffi_schema) =
                to_ffi(&array.to_data()).map_err(|e| PyValueError::new_err(e.to_string()))?;
            // The capsules own the C structs; pyarrow moves them out on import
            // and a capsule never imported releases them when dropped.
            let schema = PyCapsule::new_with_value(py, ffi_schema, c"arrow_schema")?;
            let array = PyCapsule::new_with_value(py, ffi_array, c"arrow_array")?;
            columns.push((name, schema, array));
        }
        (files, columns).into_pyobject(py).map(Bound::into_any)
    }

    #[pymethods]
    impl Decoder {
        /// columns: (name, kind, JSON path) per column to build; key_sources:
        /// (JSON path, required substring or None) in key_ids order; stops:
        /// top-level record keys that send a file to the Python path.
        #[new]
        fn new(
            columns: Vec<(String, String, Vec<String>)>,
            key_sources: Vec<(Vec<String>, Option<String>)>,
            stops: Vec<String>,
        ) -> PyResult<Self> {
            let spec = Spec::new(&columns, &key_sources, &stops).map_err(PyValueError::new_err)?;
            Ok(Decoder {
                spec: Arc::new(spec),
            })
        }

        /// Decode files, in order, without the GIL (so several threads can
        /// decode at once); see `outcome` for the result.
        fn decode_files<'py>(
            &self,
            py: Python<'py>,
            paths: Vec<String>,
            max_size: usize,
        ) -> PyResult<Bound<'py, PyAny>> {
            let spec = Arc::clone(&self.spec);
            let decoded = py.detach(move || decode_paths(&spec, &paths, max_size));
            outcome(py, decoded)
        }

        /// Decode file contents (gzip or plain) given as (bytes, source) pairs.
        fn decode_contents<'py>(
            &self,
            py: Python<'py>,
            contents: Vec<(Vec<u8>, String)>,
            max_size: usize,
        ) -> PyResult<Bound<'py, PyAny>> {
            let spec = Arc::clone(&self.spec);
            let decoded = py.detach(move || decode_contents(&spec, contents, max_size));
            outcome(py, decoded)
        }

        /// Decode `paths` on `threads` Rust threads (runs of `run` files each)
        /// and keep only the row count: the decoder's own speed, for benchmarks.
        fn count_parallel(
            &self,
            py: Python<'_>,
            paths: Vec<String>,
            max_size: usize,
            threads: usize,
            run: usize,
        ) -> PyResult<(usize, usize)> {
            let spec = Arc::clone(&self.spec);
            let results = py.detach(move || decode_parallel(&spec, &paths, max_size, threads, run));
            let (mut rows, mut fallbacks) = (0, 0);
            for r in results {
                for f in r.map_err(PyValueError::new_err)?.files {
                    match f {
                        Ok(f) => rows += f.rows,
                        Err(_) => fallbacks += 1,
                    }
                }
            }
            Ok((rows, fallbacks))
        }
    }

    /// The SIMD kernel simd-json selected on this CPU.
    #[pyfunction(name = "simd_kernel")]
    fn kernel() -> String {
        simd_kernel()
    }

    #[pymodule]
    fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add_class::<Decoder>()?;
        m.add_function(wrap_pyfunction!(kernel, m)?)?;
        Ok(())
    }
}
