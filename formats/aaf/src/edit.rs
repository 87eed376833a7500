//! Edits: property values set in place, new objects in new storages, and
//! saving. Only the streams an edit touches are written: a changed
//! object's `properties` stream, a collection's `index` stream, new
//! storages' streams and, if a weak-reference path is added, the
//! `referenced properties` table. Everything else keeps its bytes.

use std::fs;
use std::io::{Cursor, Read, Seek, Write};
use std::path::Path;
use std::rc::Rc;

use cfb::CompoundFile;

use crate::auid::Auid;
use crate::error::{Error, Result};
use crate::file::{AafFile, ObjectId};
use crate::store::{form, utf16_nul, PropEntry, PropSet, SetEntry, SetIndex, VectorIndex, WeakRef};
use crate::value::{Ctx, Value};

/// The free-key sentinel the AAF SDK and pyaaf2 write into new indexes.
const NO_FREE_KEY: u32 = 0xFFFF_FFFF;

impl<F: Read + Seek> AafFile<F> {
    /// Whether any edit is pending.
    pub fn is_modified(&self) -> bool {
        !self.overlay.is_empty() || !self.new_storages.is_empty()
    }

    /// The stream paths an edit has changed or created, sorted.
    pub fn changed_streams(&self) -> Vec<String> {
        self.overlay.keys().cloned().collect()
    }

    fn write_props(&mut self, id: ObjectId, set: PropSet) -> Result<()> {
        let bytes = set.encode()?;
        let path = self.props_stream(id);
        self.objects.borrow_mut()[id.0].props = Some(Rc::new(set));
        self.overlay.insert(path, bytes);
        Ok(())
    }

    /// Sets a property's stored entry (replacing it in place, or appending
    /// it). The object's `properties` stream is rewritten on save.
    pub fn set_entry(&mut self, id: ObjectId, pid: u16, form: u16, data: Vec<u8>) -> Result<()> {
        let mut set = (*self.properties(id)?).clone();
        match set.entries.iter_mut().find(|e| e.pid == pid) {
            Some(e) => {
                e.form = form;
                e.data = data;
            }
            None => set.entries.push(PropEntry { pid, form, data }),
        }
        self.write_props(id, set)
    }

    /// Sets a data property's value, encoded through its type definition.
    pub fn set_value(&mut self, id: ObjectId, pid: u16, value: &Value) -> Result<()> {
        let def = self
            .meta
            .property(pid)
            .ok_or_else(|| Error::undefined(format!("property 0x{pid:04x}")))?
            .clone();
        if let Some(e) = self.entry(id, pid)? {
            if e.form != form::DATA {
                return Err(Error::edit(format!(
                    "property 0x{pid:04x} ({}) is a reference (form 0x{:02x}), not a value",
                    def.name, e.form
                )));
            }
        }
        let stream = self.props_stream(id);
        let ctx = Ctx {
            meta: &self.meta,
            limits: &self.limits,
            stream: &stream,
            offset: 0,
        };
        let data = ctx.encode(&def.type_id, value, 0)?;
        // Check the encoding decodes back to the same value.
        let back = ctx.decode(&def.type_id, &data, 0)?;
        if !same_value(&back, value) {
            return Err(Error::edit(format!(
                "{value:?} does not survive encoding as {} ({back:?})",
                def.name
            )));
        }
        self.set_entry(id, pid, form::DATA, data)
    }

    /// Removes a property from an object (not allowed for references,
    /// whose storages would be orphaned).
    pub fn remove_value(&mut self, id: ObjectId, pid: u16) -> Result<bool> {
        let mut set = (*self.properties(id)?).clone();
        let Some(i) = set.entries.iter().position(|e| e.pid == pid) else {
            return Ok(false);
        };
        if set.entries[i].form != form::DATA {
            return Err(Error::edit(format!(
                "property 0x{pid:04x} is not a data value"
            )));
        }
        set.entries.remove(i);
        self.write_props(id, set)?;
        Ok(true)
    }

    fn check_class(&self, class: &Auid) -> Result<()> {
        match self.meta.class(class) {
            Some(_) => Ok(()),
            None => Err(Error::undefined(format!(
                "class {class} (register it in the MetaDictionary first)"
            ))),
        }
    }

    fn new_storage(&mut self, path: String, class: Auid) -> Result<ObjectId> {
        if self.storage_exists(&path) || self.stream_exists(&path) {
            return Err(Error::edit(format!("{path} already exists")));
        }
        self.new_storages.push((path.clone(), class));
        let id = self.obj_at(&path)?;
        self.write_props(id, PropSet::empty())?;
        Ok(id)
    }

    /// The storage-name stem for a new reference property: `<Name>-<pid>`,
    /// the name shortened so the result fits `room` UTF-16 units.
    fn stem(&self, pid: u16, room: usize) -> Result<String> {
        let def = self
            .meta
            .property(pid)
            .ok_or_else(|| Error::undefined(format!("property 0x{pid:04x}")))?;
        let suffix = format!("-{pid:x}");
        let keep = room.saturating_sub(suffix.len());
        let name: String = def.name.chars().filter(|c| *c != '/').take(keep).collect();
        Ok(format!("{name}{suffix}"))
    }

    /// Creates a new object as the (absent) single strong reference `pid`
    /// of `parent`, with no properties yet.
    pub fn add_strong_ref(&mut self, parent: ObjectId, pid: u16, class: Auid) -> Result<ObjectId> {
        self.check_class(&class)?;
        if self.entry(parent, pid)?.is_some() {
            return Err(Error::edit(format!(
                "property 0x{pid:04x} is already set on {}",
                self.path_of(parent)
            )));
        }
        let name = self.stem(pid, 31)?;
        let path = Self::child_path(&self.path_of(parent), &name);
        let id = self.new_storage(path, class)?;
        self.set_entry(parent, pid, form::STRONG_REF, utf16_nul(&name))?;
        Ok(id)
    }

    fn collection_name(&mut self, parent: ObjectId, pid: u16, want: u16) -> Result<(String, bool)> {
        match self.entry(parent, pid)? {
            Some(e) if e.form == want => Ok((self.name_value(parent, &e)?, false)),
            Some(e) => Err(Error::edit(format!(
                "property 0x{pid:04x} has form 0x{:02x}, expected 0x{want:02x}",
                e.form
            ))),
            // Room for "{ffffffff}" (10 units) inside CFB's 31-unit names.
            None => Ok((self.stem(pid, 21)?, true)),
        }
    }

    /// Appends a new object to the strong-reference vector `pid` of
    /// `parent` (creating the vector if absent); its index stream is
    /// rewritten on save.
    pub fn push_vector_element(
        &mut self,
        parent: ObjectId,
        pid: u16,
        class: Auid,
    ) -> Result<ObjectId> {
        self.insert_vector_element(parent, pid, usize::MAX, class)
    }

    /// Inserts a new object at `position` (clamped to the end) of the
    /// strong-reference vector `pid` of `parent`.
    pub fn insert_vector_element(
        &mut self,
        parent: ObjectId,
        pid: u16,
        position: usize,
        class: Auid,
    ) -> Result<ObjectId> {
        self.check_class(&class)?;
        let (name, fresh) = self.collection_name(parent, pid, form::STRONG_REF_VECTOR)?;
        let ipath = self.index_path(parent, &name);
        let mut idx = if fresh {
            VectorIndex {
                next_free_key: 0,
                last_free_key: NO_FREE_KEY,
                keys: Vec::new(),
            }
        } else {
            VectorIndex::parse(&self.read_stream(&ipath)?, &ipath)?
        };
        // Keys already used by the file can exceed next_free_key in odd
        // writers; take one past the largest to be safe.
        let key = idx
            .keys
            .iter()
            .map(|k| k.saturating_add(1))
            .max()
            .unwrap_or(0)
            .max(idx.next_free_key);
        let path = self.element_path(parent, &name, key);
        let id = self.new_storage(path, class)?;
        idx.keys.insert(position.min(idx.keys.len()), key);
        idx.next_free_key = key.saturating_add(1);
        self.overlay.insert(ipath, idx.encode());
        if fresh {
            self.set_entry(parent, pid, form::STRONG_REF_VECTOR, utf16_nul(&name))?;
        }
        Ok(id)
    }

    /// Adds a new object to the strong-reference set `pid` of `parent`,
    /// keyed by `key` (stored also as the new object's property `key_pid`).
    pub fn add_set_element(
        &mut self,
        parent: ObjectId,
        pid: u16,
        class: Auid,
        key_pid: u16,
        key: &[u8],
    ) -> Result<ObjectId> {
        self.check_class(&class)?;
        let key_size =
            u8::try_from(key.len()).map_err(|_| Error::edit("set key over 255 bytes"))?;
        let (name, fresh) = self.collection_name(parent, pid, form::STRONG_REF_SET)?;
        let ipath = self.index_path(parent, &name);
        let mut idx = if fresh {
            SetIndex {
                next_free_key: 0,
                last_free_key: NO_FREE_KEY,
                key_pid,
                key_size,
                entries: Vec::new(),
            }
        } else {
            SetIndex::parse(&self.read_stream(&ipath)?, &ipath)?
        };
        if idx.key_pid != key_pid || idx.key_size != key_size {
            return Err(Error::edit(format!(
                "set {name} is keyed by 0x{:04x} ({} bytes)",
                idx.key_pid, idx.key_size
            )));
        }
        if idx.entries.iter().any(|e| e.key == key) {
            return Err(Error::edit(format!("set {name} already has this key")));
        }
        let local_key = idx
            .entries
            .iter()
            .map(|e| e.local_key.saturating_add(1))
            .max()
            .unwrap_or(0)
            .max(idx.next_free_key);
        let path = self.element_path(parent, &name, local_key);
        let id = self.new_storage(path, class)?;
        idx.entries.push(SetEntry {
            local_key,
            ref_count: 1,
            key: key.to_vec(),
        });
        idx.next_free_key = local_key.saturating_add(1);
        self.overlay.insert(ipath, idx.encode());
        if fresh {
            self.set_entry(parent, pid, form::STRONG_REF_SET, utf16_nul(&name))?;
        }
        self.set_entry(id, key_pid, form::DATA, key.to_vec())?;
        Ok(id)
    }

    /// A weak reference to the element keyed `key` of the collection at
    /// `pid_path` (pids from the root object, e.g. Header, Dictionary,
    /// OperationDefinitions), adding the path to the `referenced
    /// properties` table when it is new.
    pub fn weak_ref_to(&mut self, pid_path: &[u16], key_pid: u16, key: &[u8]) -> Result<WeakRef> {
        let tag = match self.refprops.paths.iter().position(|p| p == pid_path) {
            Some(i) => i,
            None => {
                self.refprops.paths.push(pid_path.to_vec());
                if self.refprops.byte_order == 0 {
                    self.refprops.byte_order = crate::store::BYTE_ORDER_LE;
                }
                self.overlay
                    .insert("/referenced properties".into(), self.refprops.encode());
                self.refprops.paths.len() - 1
            }
        };
        let tag =
            u16::try_from(tag).map_err(|_| Error::edit("referenced-properties table full"))?;
        Ok(WeakRef {
            tag,
            key_pid,
            key: key.to_vec(),
        })
    }

    /// Sets a single weak reference property.
    pub fn set_weak_ref(&mut self, id: ObjectId, pid: u16, r: &WeakRef) -> Result<()> {
        self.set_entry(id, pid, form::WEAK_REF, r.encode())
    }

    /// Writes the pending edits into a compound file opened for writing
    /// (which must hold the same content this file was opened from).
    pub fn apply_edits<W: Read + Write + Seek>(&self, cf: &mut CompoundFile<W>) -> Result<()> {
        for (path, class) in &self.new_storages {
            cf.create_storage(path)
                .map_err(|e| Error::from(e).in_stream(path))?;
            cf.set_storage_clsid(path, class.to_uuid())
                .map_err(|e| Error::from(e).in_stream(path))?;
        }
        for (path, data) in &self.overlay {
            let mut s = cf
                .create_stream(path)
                .map_err(|e| Error::from(e).in_stream(path))?;
            s.write_all(data)
                .map_err(|e| Error::from(e).in_stream(path))?;
            s.flush().map_err(|e| Error::from(e).in_stream(path))?;
        }
        cf.flush()?;
        Ok(())
    }

    /// Saves to a new file: the input is copied byte for byte, then the
    /// edits are written into the copy. The input is never touched.
    pub fn save_as(&self, dest: impl AsRef<Path>) -> Result<()> {
        let dest = dest.as_ref();
        let Some(src) = &self.source else {
            return Err(Error::edit(
                "file was not opened from a path; use apply_edits",
            ));
        };
        if let (Ok(a), Ok(b)) = (fs::canonicalize(src), fs::canonicalize(dest)) {
            if a == b {
                return Err(Error::edit("save_as would overwrite the input").with_path(dest));
            }
        }
        let run = || -> Result<()> {
            fs::copy(src, dest)?;
            let mut cf = cfb::open_rw(dest)?;
            self.apply_edits(&mut cf)
        };
        run().map_err(|e| e.with_path(dest))
    }
}

impl AafFile<Cursor<Vec<u8>>> {
    /// The file's bytes with the pending edits applied.
    pub fn into_bytes(self) -> Result<Vec<u8>> {
        let AafFile {
            cf,
            overlay,
            new_storages,
            ..
        } = self;
        let mut data = cf.into_inner().into_inner().into_inner();
        if overlay.is_empty() && new_storages.is_empty() {
            return Ok(data);
        }
        let mut out = CompoundFile::open(Cursor::new(std::mem::take(&mut data)))
            .map_err(|e| Error::new(crate::error::ErrorKind::NotCfb(e)))?;
        for (path, class) in &new_storages {
            out.create_storage(path)
                .map_err(|e| Error::from(e).in_stream(path))?;
            out.set_storage_clsid(path, class.to_uuid())
                .map_err(|e| Error::from(e).in_stream(path))?;
        }
        for (path, bytes) in &overlay {
            let mut s = out
                .create_stream(path)
                .map_err(|e| Error::from(e).in_stream(path))?;
            s.write_all(bytes)
                .map_err(|e| Error::from(e).in_stream(path))?;
        }
        out.flush()?;
        Ok(out.into_inner().into_inner())
    }
}

/// Equality that treats an Enum and the Bool/Int it was given as the same.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Enum { value, .. }, Value::Bool(x)) => *value == i64::from(*x),
        (Value::Enum { value, .. }, Value::Int(x)) => value == x,
        (Value::UInt(x), Value::Int(y)) => i64::try_from(*x).ok() == Some(*y),
        (
            Value::Indirect {
                type_id: t1,
                value: v1,
            },
            Value::Indirect {
                type_id: t2,
                value: v2,
            },
        ) => t1 == t2 && same_value(v1, v2),
        (Value::ExtEnum { value, .. }, Value::Auid(x)) => value == x,
        _ => a == b,
    }
}
