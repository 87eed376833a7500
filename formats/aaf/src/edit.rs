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

/// Meta-model pids for weak references into the MetaDictionary.
const META_DICTIONARY: u16 = 0x0001;
const META_TYPES: u16 = 0x0004;
const META_IDENTIFICATION: u16 = 0x0005;

/// Whether `path` is `prefix` or lies below it.
pub(crate) fn under(path: &str, prefix: &str) -> bool {
    path == prefix
        || (path.len() > prefix.len()
            && path.starts_with(prefix)
            && (prefix == "/" || path.as_bytes()[prefix.len()] == b'/'))
}

/// Storages and streams taken out of the file to be put back elsewhere.
#[derive(Default)]
struct Subtree {
    storages: Vec<(String, Auid)>,
    streams: Vec<(String, Vec<u8>)>,
}

/// The free-key sentinel the AAF SDK and pyaaf2 write into new indexes.
const NO_FREE_KEY: u32 = 0xFFFF_FFFF;

impl<F: Read + Seek> AafFile<F> {
    /// Whether any edit is pending.
    pub fn is_modified(&self) -> bool {
        !self.overlay.is_empty() || !self.new_storages.is_empty() || !self.removed.is_empty()
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

    /// Puts a new object of `class` where `child` is now, and moves `child`
    /// (with everything below it) under the new object: as the only element
    /// of its strong-reference vector `pid` when `vector`, else as its single
    /// strong reference `pid`. The new object takes `child`'s storage name,
    /// so the parent's reference and index streams are untouched; `child`'s
    /// storages and streams are copied under their new names (CFB has no
    /// rename, and pyaaf2 copies likewise when it attaches an object) and the
    /// old storage is removed on save. `child`'s [`ObjectId`] stays valid
    /// and now names the moved object. Returns the new object, which has no
    /// other properties yet.
    pub fn wrap_object(
        &mut self,
        child: ObjectId,
        class: Auid,
        pid: u16,
        vector: bool,
    ) -> Result<ObjectId> {
        self.check_class(&class)?;
        let from = self.path_of(child);
        if from == "/" {
            return Err(Error::edit("the root object cannot be moved"));
        }
        let name = if vector {
            self.stem(pid, 21)?
        } else {
            self.stem(pid, 31)?
        };
        let child_name = if vector {
            format!("{name}{{0}}")
        } else {
            name.clone()
        };
        let to = Self::child_path(&from, &child_name);
        let moved = self.take_subtree(&from)?;
        // Objects below `from` follow the move (their ids stay valid).
        {
            let mut objs = self.objects.borrow_mut();
            let mut by_path = self.by_path.borrow_mut();
            for (i, o) in objs.iter_mut().enumerate() {
                if under(&o.path, &from) {
                    by_path.remove(&o.path);
                    o.path = format!("{to}{}", &o.path[from.len()..]);
                    by_path.insert(o.path.clone(), ObjectId(i));
                }
            }
        }
        let outer = self.new_storage(from.clone(), class)?;
        for (path, class) in moved.storages {
            self.new_storages
                .push((format!("{to}{}", &path[from.len()..]), class));
        }
        for (path, bytes) in moved.streams {
            self.overlay
                .insert(format!("{to}{}", &path[from.len()..]), bytes);
        }
        if vector {
            let idx = VectorIndex {
                next_free_key: 1,
                last_free_key: NO_FREE_KEY,
                keys: vec![0],
            };
            let ipath = self.index_path(outer, &name);
            self.overlay.insert(ipath, idx.encode());
            self.set_entry(outer, pid, form::STRONG_REF_VECTOR, utf16_nul(&name))?;
        } else {
            self.set_entry(outer, pid, form::STRONG_REF, utf16_nul(&name))?;
        }
        Ok(outer)
    }

    /// Takes every storage (with its class) and stream at or below `from`
    /// out of the file's current state, marking the input's storage as
    /// removed: the caller puts them back under a new name.
    fn take_subtree(&mut self, from: &str) -> Result<Subtree> {
        let mut out = Subtree::default();
        let in_input = !self.is_removed(from) && self.cf.borrow().is_storage(from);
        if in_input {
            let mut paths = Vec::new();
            {
                let cf = self.cf.borrow();
                let walk = cf
                    .walk_storage(from)
                    .map_err(|e| Error::from(e).in_stream(from))?;
                for e in walk {
                    let p = e.path().to_string_lossy().into_owned();
                    if paths.len() >= self.limits.max_objects {
                        return Err(Error::limit(from, "subtree has too many entries"));
                    }
                    paths.push((p, e.is_storage(), Auid::from_uuid(e.clsid())));
                }
            }
            for (p, is_storage, class) in paths {
                if self.is_removed(&p) {
                    continue;
                }
                if is_storage {
                    out.storages.push((p, class));
                } else if !self.overlay.contains_key(&p) {
                    let bytes = self.read_stream(&p)?;
                    out.streams.push((p, bytes));
                }
            }
            self.removed.push(from.to_owned());
        }
        // Storages and streams earlier edits created or changed there.
        let mut i = 0;
        while i < self.new_storages.len() {
            if under(&self.new_storages[i].0, from) {
                out.storages.push(self.new_storages.remove(i));
            } else {
                i += 1;
            }
        }
        let keys: Vec<String> = self
            .overlay
            .keys()
            .filter(|k| under(k, from))
            .cloned()
            .collect();
        for k in keys {
            if let Some(b) = self.overlay.remove(&k) {
                out.streams.push((k, b));
            }
        }
        if out.storages.is_empty() {
            return Err(Error::missing(from));
        }
        // Parents are created before their children on save.
        out.storages
            .sort_by_key(|(p, _)| p.bytes().filter(|b| *b == b'/').count());
        Ok(out)
    }

    /// The Dictionary's definition with this AUID in the set `pid` (e.g.
    /// [`crate::model::pids::DICTIONARY_OPERATION_DEFS`]), if present.
    pub fn dictionary_definition(&self, pid: u16, auid: &Auid) -> Result<Option<ObjectId>> {
        let Some(dict) = self.dictionary()? else {
            return Ok(None);
        };
        if self.entry(dict, pid)?.is_none() {
            return Ok(None);
        }
        Ok(self
            .set_elements(dict, pid)?
            .into_iter()
            .find(|(k, _)| k == &auid.0)
            .map(|(_, o)| o))
    }

    /// Registers a ParameterDefinition in the Dictionary unless one with
    /// this AUID is there: Identification, Name and Type (a weak reference
    /// into the MetaDictionary's type definitions, e.g.
    /// [`crate::meta::ids::RATIONAL`]). Returns the definition.
    pub fn ensure_parameter_def(
        &mut self,
        auid: Auid,
        name: &str,
        type_id: Auid,
    ) -> Result<ObjectId> {
        use crate::model::pids;
        if let Some(d) = self.dictionary_definition(pids::DICTIONARY_PARAMETER_DEFS, &auid)? {
            return Ok(d);
        }
        if self.meta.type_def(&type_id).is_none() {
            return Err(Error::undefined(format!("type {type_id}")));
        }
        let dict = self
            .dictionary()?
            .ok_or_else(|| Error::missing("Header.Dictionary"))?;
        let d = self.add_set_element(
            dict,
            pids::DICTIONARY_PARAMETER_DEFS,
            crate::model::classes::PARAMETER_DEFINITION,
            pids::DEFINITION_ID,
            &auid.0,
        )?;
        self.set_value(d, pids::DEFINITION_NAME, &Value::String(name.into()))?;
        let r = self.weak_ref_to(
            &[META_DICTIONARY, META_TYPES],
            META_IDENTIFICATION,
            &type_id.0,
        )?;
        self.set_weak_ref(d, pids::PARAMETER_DEF_TYPE, &r)?;
        Ok(d)
    }

    /// Registers an OperationDefinition in the Dictionary unless one with
    /// this AUID is there: Identification, Name, DataDefinition (a weak
    /// reference to `data_def`, which the Dictionary must hold), IsTimeWarp
    /// false and NumberInputs. Returns the definition.
    pub fn ensure_operation_def(
        &mut self,
        auid: Auid,
        name: &str,
        data_def: Auid,
        inputs: i32,
    ) -> Result<ObjectId> {
        use crate::model::pids;
        if let Some(d) = self.dictionary_definition(pids::DICTIONARY_OPERATION_DEFS, &auid)? {
            return Ok(d);
        }
        if self
            .dictionary_definition(pids::DICTIONARY_DATA_DEFS, &data_def)?
            .is_none()
        {
            return Err(Error::undefined(format!(
                "DataDefinition {data_def} (not in the Dictionary)"
            )));
        }
        let dict = self
            .dictionary()?
            .ok_or_else(|| Error::missing("Header.Dictionary"))?;
        let d = self.add_set_element(
            dict,
            pids::DICTIONARY_OPERATION_DEFS,
            crate::model::classes::OPERATION_DEFINITION,
            pids::DEFINITION_ID,
            &auid.0,
        )?;
        self.set_value(d, pids::DEFINITION_NAME, &Value::String(name.into()))?;
        let r = self.weak_ref_to(
            &[
                pids::HEADER,
                pids::HEADER_DICTIONARY,
                pids::DICTIONARY_DATA_DEFS,
            ],
            pids::DEFINITION_ID,
            &data_def.0,
        )?;
        self.set_weak_ref(d, pids::OPERATION_DEF_DATA_DEF, &r)?;
        self.set_value(d, pids::OPERATION_DEF_IS_TIME_WARP, &Value::Bool(false))?;
        self.set_value(
            d,
            pids::OPERATION_DEF_NUMBER_INPUTS,
            &Value::Int(i64::from(inputs)),
        )?;
        Ok(d)
    }

    /// Writes the pending edits into a compound file opened for writing
    /// (which must hold the same content this file was opened from).
    pub fn apply_edits<W: Read + Write + Seek>(&self, cf: &mut CompoundFile<W>) -> Result<()> {
        for path in &self.removed {
            cf.remove_storage_all(path)
                .map_err(|e| Error::from(e).in_stream(path))?;
        }
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
            removed,
            ..
        } = self;
        let mut data = cf.into_inner().into_inner().into_inner();
        if overlay.is_empty() && new_storages.is_empty() && removed.is_empty() {
            return Ok(data);
        }
        let mut out = CompoundFile::open(Cursor::new(std::mem::take(&mut data)))
            .map_err(|e| Error::new(crate::error::ErrorKind::NotCfb(e)))?;
        for path in &removed {
            out.remove_storage_all(path)
                .map_err(|e| Error::from(e).in_stream(path))?;
        }
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
