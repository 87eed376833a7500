//! The object layer: an AAF file opened on `cfb`, objects (storages) read
//! lazily, edits kept as an overlay of changed streams and new storages and
//! written only on save.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{Cursor, Read, Seek};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use cfb::CompoundFile;

use crate::auid::Auid;
use crate::error::{Error, ErrorKind, Limits, Result};
use crate::meta::{ids, ClassDef, MetaDictionary, PropertyDef, TypeDef, TypeKind};
use crate::store::{
    form, utf16, PropEntry, PropSet, ReferencedProperties, SetIndex, VectorIndex, WeakIndex,
    WeakRef,
};
use crate::value::{Ctx, Value};

/// An object (a storage) of an open file. Ids are only meaningful for the
/// [`AafFile`] that handed them out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId(pub(crate) usize);

pub(crate) struct Obj {
    pub(crate) path: String,
    pub(crate) class: Auid,
    pub(crate) props: Option<Rc<PropSet>>,
}

/// Pids of the meta model (fixed by the AAF specification).
mod pid {
    pub const ROOT_METADICTIONARY: u16 = 0x0001;
    pub const META_CLASSES: u16 = 0x0003;
    pub const META_TYPES: u16 = 0x0004;
    pub const IDENTIFICATION: u16 = 0x0005;
    pub const NAME: u16 = 0x0006;
    pub const PARENT_CLASS: u16 = 0x0008;
    pub const CLASS_PROPERTIES: u16 = 0x0009;
    pub const IS_CONCRETE: u16 = 0x000A;
    pub const PROPERTY_TYPE: u16 = 0x000B;
    pub const IS_OPTIONAL: u16 = 0x000C;
    pub const LOCAL_ID: u16 = 0x000D;
    pub const IS_UNIQUE: u16 = 0x000E;
}

/// An AAF file: the compound file, the MetaDictionary and the pending edits.
pub struct AafFile<F> {
    pub(crate) cf: RefCell<CompoundFile<F>>,
    pub(crate) limits: Limits,
    pub(crate) source: Option<PathBuf>,
    pub(crate) objects: RefCell<Vec<Obj>>,
    pub(crate) by_path: RefCell<HashMap<String, ObjectId>>,
    /// Streams changed or created by edits: path → new bytes.
    pub(crate) overlay: BTreeMap<String, Vec<u8>>,
    /// Storages created by edits, in creation order, with their class.
    pub(crate) new_storages: Vec<(String, Auid)>,
    /// Storages of the input removed (with their subtrees) by edits that
    /// moved an object; removed on save before anything is created.
    pub(crate) removed: Vec<String>,
    pub(crate) meta: MetaDictionary,
    pub(crate) refprops: ReferencedProperties,
}

impl AafFile<fs::File> {
    /// Opens a file read-only with the default [`Limits`].
    pub fn open(path: impl AsRef<Path>) -> Result<AafFile<fs::File>> {
        AafFile::open_with(path, Limits::default())
    }

    /// Opens a file read-only.
    pub fn open_with(path: impl AsRef<Path>, limits: Limits) -> Result<AafFile<fs::File>> {
        let path = path.as_ref();
        let run = || -> Result<AafFile<fs::File>> {
            let f = fs::File::open(path)?;
            let mut aaf = AafFile::from_reader(f, limits.clone())?;
            aaf.source = Some(path.to_owned());
            Ok(aaf)
        };
        run().map_err(|e| e.with_path(path))
    }
}

impl AafFile<Cursor<Vec<u8>>> {
    /// Opens a file held in memory.
    pub fn from_bytes(data: Vec<u8>, limits: Limits) -> Result<AafFile<Cursor<Vec<u8>>>> {
        AafFile::from_reader(Cursor::new(data), limits)
    }
}

impl<F: Read + Seek> AafFile<F> {
    /// Opens a compound file from any reader.
    pub fn from_reader(mut inner: F, limits: Limits) -> Result<AafFile<F>> {
        let len = inner.seek(std::io::SeekFrom::End(0))?;
        inner.seek(std::io::SeekFrom::Start(0))?;
        if len > limits.max_file_bytes {
            return Err(Error::new(ErrorKind::Limit(format!(
                "file of {len} bytes, over the {} limit",
                limits.max_file_bytes
            ))));
        }
        let cf = CompoundFile::open(inner).map_err(|e| Error::new(ErrorKind::NotCfb(e)))?;
        let root_class = Auid::from_uuid(cf.root_entry().clsid());
        let mut aaf = AafFile {
            cf: RefCell::new(cf),
            limits,
            source: None,
            objects: RefCell::new(vec![Obj {
                path: "/".into(),
                class: root_class,
                props: None,
            }]),
            by_path: RefCell::new(HashMap::from([("/".to_owned(), ObjectId(0))])),
            overlay: BTreeMap::new(),
            new_storages: Vec::new(),
            removed: Vec::new(),
            meta: MetaDictionary::default(),
            refprops: ReferencedProperties::default(),
        };
        if aaf.stream_exists("/referenced properties") {
            let data = aaf.read_stream("/referenced properties")?;
            aaf.refprops = ReferencedProperties::parse(&data, "/referenced properties")?;
        }
        aaf.meta = aaf.load_meta()?;
        Ok(aaf)
    }

    // ----- streams -----------------------------------------------------

    pub(crate) fn stream_exists(&self, path: &str) -> bool {
        self.overlay.contains_key(path)
            || (!self.is_removed(path) && self.cf.borrow().is_stream(path))
    }

    pub(crate) fn storage_exists(&self, path: &str) -> bool {
        self.new_storages.iter().any(|(p, _)| p == path)
            || (!self.is_removed(path) && self.cf.borrow().is_storage(path))
    }

    /// Whether an input path lies in a storage an edit removed.
    pub(crate) fn is_removed(&self, path: &str) -> bool {
        self.removed.iter().any(|r| crate::edit::under(path, r))
    }

    /// Reads a whole (object-layer) stream, edits included, within
    /// `max_stream_bytes`.
    pub fn read_stream(&self, path: &str) -> Result<Vec<u8>> {
        self.read_stream_limited(path, self.limits.max_stream_bytes)
    }

    /// Reads a whole stream with a caller-chosen size limit (essence data).
    pub fn read_stream_limited(&self, path: &str, max: u64) -> Result<Vec<u8>> {
        if let Some(d) = self.overlay.get(path) {
            return Ok(d.clone());
        }
        if self.is_removed(path) {
            return Err(Error::missing(path));
        }
        let mut cf = self.cf.borrow_mut();
        if !cf.is_stream(path) {
            return Err(Error::missing(path));
        }
        let mut s = cf
            .open_stream(path)
            .map_err(|e| Error::from(e).in_stream(path))?;
        let len = s.len();
        if len > max {
            return Err(Error::limit(
                path,
                format!("stream of {len} bytes, over {max}"),
            ));
        }
        let mut out = Vec::with_capacity(len as usize);
        s.read_to_end(&mut out)
            .map_err(|e| Error::from(e).in_stream(path))?;
        Ok(out)
    }

    /// Every stream path of the underlying compound file (edits not
    /// included), sorted.
    pub fn stream_paths(&self) -> Vec<String> {
        let cf = self.cf.borrow();
        let mut out: Vec<String> = cf
            .walk()
            .filter(|e| e.is_stream())
            .map(|e| e.path().to_string_lossy().into_owned())
            .collect();
        out.sort();
        out
    }

    // ----- objects -----------------------------------------------------

    /// The root object (the storage `/`, holding Header and MetaDictionary).
    pub fn root(&self) -> ObjectId {
        ObjectId(0)
    }

    pub(crate) fn obj_at(&self, path: &str) -> Result<ObjectId> {
        if let Some(id) = self.by_path.borrow().get(path) {
            return Ok(*id);
        }
        let class = if let Some((_, c)) = self.new_storages.iter().find(|(p, _)| p == path) {
            *c
        } else {
            let cf = self.cf.borrow();
            if self.is_removed(path) || !cf.is_storage(path) {
                return Err(Error::missing(path));
            }
            let e = cf.entry(path).map_err(|e| Error::from(e).in_stream(path))?;
            Auid::from_uuid(e.clsid())
        };
        let mut objs = self.objects.borrow_mut();
        if objs.len() >= self.limits.max_objects {
            return Err(Error::limit(
                path,
                format!("more than {} objects", self.limits.max_objects),
            ));
        }
        let id = ObjectId(objs.len());
        objs.push(Obj {
            path: path.to_owned(),
            class,
            props: None,
        });
        self.by_path.borrow_mut().insert(path.to_owned(), id);
        Ok(id)
    }

    pub(crate) fn child_path(parent: &str, name: &str) -> String {
        if parent == "/" {
            format!("/{name}")
        } else {
            format!("{parent}/{name}")
        }
    }

    /// The storage path of an object, e.g. `/Header-2/Content-3b03`.
    pub fn path_of(&self, id: ObjectId) -> String {
        self.objects.borrow()[id.0].path.clone()
    }

    /// The object's class AUID (its storage CLSID).
    pub fn class_of(&self, id: ObjectId) -> Auid {
        self.objects.borrow()[id.0].class
    }

    /// The object's class name from the MetaDictionary.
    pub fn class_name(&self, id: ObjectId) -> Option<String> {
        self.meta.class(&self.class_of(id)).map(|c| c.name.clone())
    }

    /// Whether the object's class is `class` or derives from it.
    pub fn is_a(&self, id: ObjectId, class: &Auid) -> bool {
        self.meta.is_a(&self.class_of(id), class)
    }

    /// The object's `properties` stream, read on first use.
    pub fn properties(&self, id: ObjectId) -> Result<Rc<PropSet>> {
        if let Some(p) = &self.objects.borrow()[id.0].props {
            return Ok(p.clone());
        }
        let path = Self::child_path(&self.path_of(id), "properties");
        let data = self.read_stream(&path)?;
        let set = Rc::new(PropSet::parse(&data, &path)?);
        self.objects.borrow_mut()[id.0].props = Some(set.clone());
        Ok(set)
    }

    /// One property's stored entry, if the object has it.
    pub fn entry(&self, id: ObjectId, pid: u16) -> Result<Option<PropEntry>> {
        Ok(self.properties(id)?.get(pid).cloned())
    }

    pub(crate) fn props_stream(&self, id: ObjectId) -> String {
        Self::child_path(&self.path_of(id), "properties")
    }

    pub(crate) fn name_value(&self, id: ObjectId, e: &PropEntry) -> Result<String> {
        let s = self.props_stream(id);
        let name = utf16(&e.data, &s, 0)?;
        if name.is_empty() || name.contains('/') || name.encode_utf16().count() > 31 {
            return Err(Error::malformed(
                &s,
                0,
                format!("property 0x{:04x} names an invalid storage {name:?}", e.pid),
            ));
        }
        Ok(name)
    }

    /// The child object of a strong reference (stored form 0x22).
    pub fn strong_ref(&self, id: ObjectId, pid: u16) -> Result<Option<ObjectId>> {
        let Some(e) = self.entry(id, pid)? else {
            return Ok(None);
        };
        if e.form != form::STRONG_REF {
            return Err(Error::malformed(
                &self.props_stream(id),
                0,
                format!(
                    "property 0x{pid:04x} has form 0x{:02x}, not a strong reference",
                    e.form
                ),
            ));
        }
        let name = self.name_value(id, &e)?;
        let path = Self::child_path(&self.path_of(id), &name);
        self.obj_at(&path).map(Some)
    }

    pub(crate) fn index_path(&self, id: ObjectId, name: &str) -> String {
        Self::child_path(&self.path_of(id), &format!("{name} index"))
    }

    pub(crate) fn element_path(&self, id: ObjectId, name: &str, key: u32) -> String {
        Self::child_path(&self.path_of(id), &format!("{name}{{{key:x}}}"))
    }

    /// The elements of a strong-reference vector (in order) or set (in
    /// index order). Empty if the object lacks the property.
    pub fn strong_refs(&self, id: ObjectId, pid: u16) -> Result<Vec<ObjectId>> {
        let Some(e) = self.entry(id, pid)? else {
            return Ok(Vec::new());
        };
        let name = self.name_value(id, &e)?;
        let ipath = self.index_path(id, &name);
        let keys: Vec<u32> = match e.form {
            form::STRONG_REF_VECTOR => VectorIndex::parse(&self.read_stream(&ipath)?, &ipath)?.keys,
            form::STRONG_REF_SET => SetIndex::parse(&self.read_stream(&ipath)?, &ipath)?
                .entries
                .into_iter()
                .map(|e| e.local_key)
                .collect(),
            f => {
                return Err(Error::malformed(
                    &self.props_stream(id),
                    0,
                    format!("property 0x{pid:04x} has form 0x{f:02x}, not a strong collection"),
                ))
            }
        };
        keys.into_iter()
            .map(|k| self.obj_at(&self.element_path(id, &name, k)))
            .collect()
    }

    /// The elements of a strong-reference set with their keys.
    pub fn set_elements(&self, id: ObjectId, pid: u16) -> Result<Vec<(Vec<u8>, ObjectId)>> {
        let Some(e) = self.entry(id, pid)? else {
            return Ok(Vec::new());
        };
        if e.form != form::STRONG_REF_SET {
            return Err(Error::malformed(
                &self.props_stream(id),
                0,
                format!("property 0x{pid:04x} is not a strong-reference set"),
            ));
        }
        let name = self.name_value(id, &e)?;
        let ipath = self.index_path(id, &name);
        let idx = SetIndex::parse(&self.read_stream(&ipath)?, &ipath)?;
        idx.entries
            .into_iter()
            .map(|en| {
                Ok((
                    en.key,
                    self.obj_at(&self.element_path(id, &name, en.local_key))?,
                ))
            })
            .collect()
    }

    /// A single weak reference (stored form 0x02; a bare key when stored as
    /// data, as the MetaDictionary does).
    pub fn weak_ref(&self, id: ObjectId, pid: u16) -> Result<Option<WeakRef>> {
        let Some(e) = self.entry(id, pid)? else {
            return Ok(None);
        };
        match e.form {
            form::WEAK_REF => Ok(Some(WeakRef::parse(&e.data, &self.props_stream(id))?)),
            form::DATA => Ok(Some(WeakRef {
                tag: u16::MAX,
                key_pid: 0,
                key: e.data,
            })),
            f => Err(Error::malformed(
                &self.props_stream(id),
                0,
                format!("property 0x{pid:04x} has form 0x{f:02x}, not a weak reference"),
            )),
        }
    }

    /// The keys of a weak-reference vector or set, with their table tag.
    pub fn weak_refs(&self, id: ObjectId, pid: u16) -> Result<Vec<WeakRef>> {
        let Some(e) = self.entry(id, pid)? else {
            return Ok(Vec::new());
        };
        if e.form != form::WEAK_REF_VECTOR && e.form != form::WEAK_REF_SET {
            return Err(Error::malformed(
                &self.props_stream(id),
                0,
                format!("property 0x{pid:04x} is not a weak-reference collection"),
            ));
        }
        let name = self.name_value(id, &e)?;
        let ipath = self.index_path(id, &name);
        let idx = WeakIndex::parse(&self.read_stream(&ipath)?, &ipath)?;
        Ok(idx
            .keys
            .into_iter()
            .map(|key| WeakRef {
                tag: idx.tag,
                key_pid: idx.key_pid,
                key,
            })
            .collect())
    }

    /// The `referenced properties` table.
    pub fn referenced_properties(&self) -> &ReferencedProperties {
        &self.refprops
    }

    /// The object a weak reference points to, through the `referenced
    /// properties` path its tag names; `None` if no element has its key.
    pub fn resolve_weak(&self, r: &WeakRef) -> Result<Option<ObjectId>> {
        let Some(path) = self.refprops.paths.get(r.tag as usize) else {
            return Err(Error::malformed(
                "/referenced properties",
                0,
                format!("weak reference tag {} is not in the table", r.tag),
            ));
        };
        let Some((last, head)) = path.split_last() else {
            return Ok(None);
        };
        let mut cur = self.root();
        for p in head {
            match self.strong_ref(cur, *p)? {
                Some(c) => cur = c,
                None => return Ok(None),
            }
        }
        let Some(e) = self.entry(cur, *last)? else {
            return Ok(None);
        };
        if e.form == form::STRONG_REF_SET {
            for (k, o) in self.set_elements(cur, *last)? {
                if k == r.key {
                    return Ok(Some(o));
                }
            }
            return Ok(None);
        }
        // A vector target: compare each element's key property.
        for o in self.strong_refs(cur, *last)? {
            if self.entry(o, r.key_pid)?.is_some_and(|e| e.data == r.key) {
                return Ok(Some(o));
            }
        }
        Ok(None)
    }

    // ----- definitions and values --------------------------------------

    /// The file's MetaDictionary.
    pub fn meta(&self) -> &MetaDictionary {
        &self.meta
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The definition of a pid.
    pub fn property_def(&self, pid: u16) -> Option<&PropertyDef> {
        self.meta.property(pid)
    }

    /// The pid of a property by name on this object's class or its
    /// ancestors (vendor properties differ per file).
    pub fn pid_by_name(&self, id: ObjectId, name: &str) -> Option<u16> {
        self.meta.pid_by_name(&self.class_of(id), name)
    }

    /// A property's value, decoded through its type definition. Reference
    /// forms give the stored name or weak reference; see [`Self::strong_ref`],
    /// [`Self::strong_refs`], [`Self::weak_ref`] to follow them.
    pub fn value(&self, id: ObjectId, pid: u16) -> Result<Option<Value>> {
        let Some(e) = self.entry(id, pid)? else {
            return Ok(None);
        };
        let stream = self.props_stream(id);
        let v = match e.form {
            form::DATA => match self.meta.property(pid) {
                Some(def) => {
                    let ctx = Ctx {
                        meta: &self.meta,
                        limits: &self.limits,
                        stream: &stream,
                        offset: 0,
                    };
                    ctx.decode(&def.type_id, &e.data, 0).map_err(|err| {
                        if matches!(err.kind, ErrorKind::Undefined(_)) {
                            err
                        } else {
                            Error::malformed(
                                &stream,
                                0,
                                format!("property 0x{pid:04x} ({}): {}", def.name, err),
                            )
                        }
                    })?
                }
                None => Value::Unknown(e.data),
            },
            form::DATA_STREAM => {
                if e.data.first() != Some(&0x55) && e.data.first() != Some(&0x4C) {
                    return Err(Error::malformed(
                        &stream,
                        0,
                        "data-stream value lacks its byte-order byte",
                    ));
                }
                Value::Stream(utf16(&e.data[1..], &stream, 1)?)
            }
            form::STRONG_REF => Value::StrongRef(self.name_value(id, &e)?),
            form::STRONG_REF_VECTOR | form::STRONG_REF_SET => {
                Value::StrongRefs(self.name_value(id, &e)?)
            }
            form::WEAK_REF => Value::WeakRef(WeakRef::parse(&e.data, &stream)?),
            form::WEAK_REF_VECTOR | form::WEAK_REF_SET => Value::WeakRefs(self.name_value(id, &e)?),
            f => {
                return Err(Error::malformed(
                    &stream,
                    0,
                    format!("property 0x{pid:04x} has unknown stored form 0x{f:04x}"),
                ))
            }
        };
        Ok(Some(v))
    }

    /// The bytes of a data-stream property (e.g. EssenceData `Data`), within
    /// `max` bytes.
    pub fn data_stream(&self, id: ObjectId, pid: u16, max: u64) -> Result<Option<Vec<u8>>> {
        match self.value(id, pid)? {
            Some(Value::Stream(name)) => {
                let p = Self::child_path(&self.path_of(id), &name);
                self.read_stream_limited(&p, max).map(Some)
            }
            Some(_) => Err(Error::malformed(
                &self.props_stream(id),
                0,
                format!("property 0x{pid:04x} is not a data stream"),
            )),
            None => Ok(None),
        }
    }

    /// Visits every object reachable from the root through strong
    /// references, depth first, with its depth; stops at the limits.
    pub fn walk(&self, mut visit: impl FnMut(ObjectId, usize) -> Result<()>) -> Result<usize> {
        let mut stack = vec![(self.root(), 0usize)];
        let mut count = 0usize;
        while let Some((id, depth)) = stack.pop() {
            count += 1;
            if count > self.limits.max_objects {
                return Err(Error::limit(
                    &self.path_of(id),
                    format!("more than {} objects", self.limits.max_objects),
                ));
            }
            if depth > self.limits.max_depth {
                return Err(Error::limit(
                    &self.path_of(id),
                    format!("nesting deeper than {}", self.limits.max_depth),
                ));
            }
            visit(id, depth)?;
            let props = self.properties(id)?;
            let mut children = Vec::new();
            for e in &props.entries {
                match e.form {
                    form::STRONG_REF => children.extend(self.strong_ref(id, e.pid)?),
                    form::STRONG_REF_VECTOR | form::STRONG_REF_SET => {
                        children.extend(self.strong_refs(id, e.pid)?)
                    }
                    _ => {}
                }
            }
            for c in children.into_iter().rev() {
                stack.push((c, depth + 1));
            }
        }
        Ok(count)
    }

    // ----- MetaDictionary ----------------------------------------------

    fn weak_key(&self, id: ObjectId, pid: u16) -> Result<Option<Auid>> {
        match self.weak_ref(id, pid)? {
            Some(r) => Auid::from_slice(&r.key).map(Some).ok_or_else(|| {
                Error::malformed(
                    &self.props_stream(id),
                    0,
                    "definition reference key is not an AUID",
                )
            }),
            None => Ok(None),
        }
    }

    fn data_of(&self, id: ObjectId, pid: u16) -> Result<Option<Vec<u8>>> {
        Ok(self.entry(id, pid)?.map(|e| e.data))
    }

    fn auid_of(&self, id: ObjectId, pid: u16) -> Result<Auid> {
        let d = self.data_of(id, pid)?.unwrap_or_default();
        Auid::from_slice(&d).ok_or_else(|| {
            Error::malformed(
                &self.props_stream(id),
                0,
                format!("property 0x{pid:04x} is not a 16-byte AUID"),
            )
        })
    }

    fn string_of(&self, id: ObjectId, pid: u16) -> Result<String> {
        match self.data_of(id, pid)? {
            Some(d) => utf16(&d, &self.props_stream(id), 0),
            None => Ok(String::new()),
        }
    }

    fn strings_of(&self, id: ObjectId, pid: u16) -> Result<Vec<String>> {
        let d = self.data_of(id, pid)?.unwrap_or_default();
        if !d.len().is_multiple_of(2) {
            return Err(Error::malformed(
                &self.props_stream(id),
                0,
                "string array of odd length",
            ));
        }
        let units: Vec<u16> = d
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        let mut out: Vec<String> = units
            .split(|u| *u == 0)
            .map(String::from_utf16_lossy)
            .collect();
        if units.last() == Some(&0) || units.is_empty() {
            out.pop();
        }
        Ok(out)
    }

    fn load_meta(&self) -> Result<MetaDictionary> {
        let mut meta = MetaDictionary::default();
        let Some(md) = self.strong_ref(self.root(), pid::ROOT_METADICTIONARY)? else {
            return Err(Error::missing("/MetaDictionary (root property 0x0001)"));
        };
        for c in self.strong_refs(md, pid::META_CLASSES)? {
            let auid = self.auid_of(c, pid::IDENTIFICATION)?;
            let mut props = Vec::new();
            for p in self.strong_refs(c, pid::CLASS_PROPERTIES)? {
                let d = self.data_of(p, pid::LOCAL_ID)?.unwrap_or_default();
                let local: [u8; 2] = d.as_slice().try_into().map_err(|_| {
                    Error::malformed(
                        &self.props_stream(p),
                        0,
                        "property definition without a 2-byte pid",
                    )
                })?;
                let local = u16::from_le_bytes(local);
                let flag = |pid| -> Result<bool> {
                    Ok(self
                        .data_of(p, pid)?
                        .is_some_and(|d| d.first().is_some_and(|b| *b != 0)))
                };
                let def = PropertyDef {
                    auid: self.auid_of(p, pid::IDENTIFICATION)?,
                    name: self.string_of(p, pid::NAME)?,
                    pid: local,
                    type_id: self.weak_key(p, pid::PROPERTY_TYPE)?.unwrap_or_default(),
                    optional: flag(pid::IS_OPTIONAL)?,
                    unique: flag(pid::IS_UNIQUE)?,
                    owner: auid,
                };
                props.push(local);
                meta.properties.insert(local, def);
            }
            let concrete = self
                .data_of(c, pid::IS_CONCRETE)?
                .is_some_and(|d| d.first().is_some_and(|b| *b != 0));
            let parent = self.weak_key(c, pid::PARENT_CLASS)?.filter(|p| *p != auid);
            meta.classes.insert(
                auid,
                ClassDef {
                    auid,
                    name: self.string_of(c, pid::NAME)?,
                    parent,
                    concrete,
                    properties: props,
                },
            );
        }
        for t in self.strong_refs(md, pid::META_TYPES)? {
            let def = self.load_type(t)?;
            meta.types.insert(def.auid, def);
        }
        meta.add_meta_model();
        meta.add_baseline();
        Ok(meta)
    }

    fn load_type(&self, t: ObjectId) -> Result<TypeDef> {
        let auid = self.auid_of(t, pid::IDENTIFICATION)?;
        let name = self.string_of(t, pid::NAME)?;
        let key = |pid| -> Result<Auid> { Ok(self.weak_key(t, pid)?.unwrap_or_default()) };
        let byte = |pid| -> Result<u8> {
            Ok(self
                .data_of(t, pid)?
                .and_then(|d| d.first().copied())
                .unwrap_or(0))
        };
        let stream = self.props_stream(t);
        let class = self.class_of(t);
        let kind = match class {
            ids::TYPE_INTEGER => TypeKind::Integer {
                size: byte(0x0F)?,
                signed: byte(0x10)? != 0,
            },
            ids::TYPE_STRONG_REF => TypeKind::StrongRef { class: key(0x11)? },
            ids::TYPE_WEAK_REF => {
                let d = self.data_of(t, 0x13)?.unwrap_or_default();
                TypeKind::WeakRef {
                    class: key(0x12)?,
                    target_set: d.chunks_exact(16).filter_map(Auid::from_slice).collect(),
                }
            }
            ids::TYPE_ENUM => {
                let d = self.data_of(t, 0x16)?.unwrap_or_default();
                TypeKind::Enum {
                    element: key(0x14)?,
                    names: self.strings_of(t, 0x15)?,
                    values: d
                        .chunks_exact(8)
                        .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                        .collect(),
                }
            }
            ids::TYPE_FIXED_ARRAY => {
                let d = self.data_of(t, 0x18)?.unwrap_or_default();
                let count: [u8; 4] = d.as_slice().try_into().map_err(|_| {
                    Error::malformed(&stream, 0, "fixed array without a 4-byte count")
                })?;
                TypeKind::FixedArray {
                    element: key(0x17)?,
                    count: u32::from_le_bytes(count),
                }
            }
            ids::TYPE_VARIABLE_ARRAY => TypeKind::VariableArray {
                element: key(0x19)?,
            },
            ids::TYPE_SET => TypeKind::Set {
                element: key(0x1A)?,
            },
            ids::TYPE_STRING => TypeKind::String {
                element: key(0x1B)?,
            },
            ids::TYPE_STREAM => TypeKind::Stream,
            ids::TYPE_RECORD => {
                let names = self.strings_of(t, 0x1D)?;
                let types: Vec<Auid> = match self.entry(t, 0x1C)? {
                    Some(e) if e.form == form::DATA => e
                        .data
                        .chunks_exact(16)
                        .filter_map(Auid::from_slice)
                        .collect(),
                    Some(_) => self
                        .weak_refs(t, 0x1C)?
                        .into_iter()
                        .map(|r| Auid::from_slice(&r.key).unwrap_or_default())
                        .collect(),
                    None => Vec::new(),
                };
                if names.len() != types.len() {
                    return Err(Error::malformed(
                        &stream,
                        0,
                        format!(
                            "record type {name}: {} member names, {} member types",
                            names.len(),
                            types.len()
                        ),
                    ));
                }
                TypeKind::Record {
                    members: names.into_iter().zip(types).collect(),
                }
            }
            ids::TYPE_RENAME => TypeKind::Rename {
                renamed: key(0x1E)?,
            },
            ids::TYPE_EXT_ENUM => {
                let d = self.data_of(t, 0x20)?.unwrap_or_default();
                TypeKind::ExtEnum {
                    names: self.strings_of(t, 0x1F)?,
                    values: d.chunks_exact(16).filter_map(Auid::from_slice).collect(),
                }
            }
            ids::TYPE_INDIRECT => TypeKind::Indirect,
            ids::TYPE_OPAQUE => TypeKind::Opaque,
            ids::TYPE_CHARACTER => TypeKind::Character,
            other => TypeKind::Unknown { class: other },
        };
        Ok(TypeDef { auid, name, kind })
    }
}
