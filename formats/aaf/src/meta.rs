//! The MetaDictionary: class, property and type definitions read from the
//! file itself (`MetaDictionary-1`), so that every pid, including vendor
//! (dynamic, ≥ 0x8000) pids, resolves to a name and a type.

use std::collections::HashMap;

use crate::auid::Auid;

/// A class definition.
#[derive(Clone, Debug)]
pub struct ClassDef {
    pub auid: Auid,
    pub name: String,
    pub parent: Option<Auid>,
    pub concrete: bool,
    /// Local pids of the properties this class itself defines.
    pub properties: Vec<u16>,
}

/// A property definition.
#[derive(Clone, Debug)]
pub struct PropertyDef {
    pub auid: Auid,
    pub name: String,
    /// The local identification (pid) used in `properties` streams.
    pub pid: u16,
    pub type_id: Auid,
    pub optional: bool,
    pub unique: bool,
    /// The class that defines it.
    pub owner: Auid,
}

/// What kind of type a [`TypeDef`] is, with its parameters.
#[derive(Clone, Debug)]
pub enum TypeKind {
    Integer {
        size: u8,
        signed: bool,
    },
    StrongRef {
        class: Auid,
    },
    WeakRef {
        class: Auid,
        target_set: Vec<Auid>,
    },
    Enum {
        element: Auid,
        names: Vec<String>,
        values: Vec<i64>,
    },
    FixedArray {
        element: Auid,
        count: u32,
    },
    VariableArray {
        element: Auid,
    },
    Set {
        element: Auid,
    },
    String {
        element: Auid,
    },
    Stream,
    Record {
        members: Vec<(String, Auid)>,
    },
    Rename {
        renamed: Auid,
    },
    ExtEnum {
        names: Vec<String>,
        values: Vec<Auid>,
    },
    Indirect,
    Opaque,
    Character,
    /// A type-definition class this crate does not know.
    Unknown {
        class: Auid,
    },
}

/// A type definition.
#[derive(Clone, Debug)]
pub struct TypeDef {
    pub auid: Auid,
    pub name: String,
    pub kind: TypeKind,
}

/// Identifiers of the meta classes and well-known types.
pub mod ids {
    use crate::auid::Auid;

    const fn meta(d2: u16) -> Auid {
        Auid::from_fields(
            0x0d01_0101,
            d2,
            0,
            [0x06, 0x0e, 0x2b, 0x34, 0x02, 0x06, 0x01, 0x01],
        )
    }
    const fn ty(d1: u32) -> Auid {
        Auid::from_fields(d1, 0, 0, [0x06, 0x0e, 0x2b, 0x34, 0x01, 0x04, 0x01, 0x01])
    }

    pub const CLASS_DEFINITION: Auid = meta(0x0201);
    pub const PROPERTY_DEFINITION: Auid = meta(0x0202);
    pub const TYPE_INTEGER: Auid = meta(0x0204);
    pub const TYPE_STRONG_REF: Auid = meta(0x0205);
    pub const TYPE_WEAK_REF: Auid = meta(0x0206);
    pub const TYPE_ENUM: Auid = meta(0x0207);
    pub const TYPE_FIXED_ARRAY: Auid = meta(0x0208);
    pub const TYPE_VARIABLE_ARRAY: Auid = meta(0x0209);
    pub const TYPE_SET: Auid = meta(0x020a);
    pub const TYPE_STRING: Auid = meta(0x020b);
    pub const TYPE_STREAM: Auid = meta(0x020c);
    pub const TYPE_RECORD: Auid = meta(0x020d);
    pub const TYPE_RENAME: Auid = meta(0x020e);
    pub const TYPE_EXT_ENUM: Auid = meta(0x0220);
    pub const TYPE_INDIRECT: Auid = meta(0x0221);
    pub const TYPE_OPAQUE: Auid = meta(0x0222);
    pub const TYPE_CHARACTER: Auid = meta(0x0223);

    /// Well-known types (AAF baseline type AUIDs).
    pub const UINT8: Auid = ty(0x0101_0100);
    pub const UINT16: Auid = ty(0x0101_0200);
    pub const UINT32: Auid = ty(0x0101_0300);
    pub const UINT64: Auid = ty(0x0101_0400);
    pub const INT8: Auid = ty(0x0101_0500);
    pub const INT16: Auid = ty(0x0101_0600);
    pub const INT32: Auid = ty(0x0101_0700);
    pub const INT64: Auid = ty(0x0101_0800);
    pub const CHARACTER: Auid = ty(0x0110_0100);
    pub const STRING: Auid = ty(0x0110_0200);
    pub const RATIONAL: Auid = ty(0x0301_0100);
    pub const AUID: Auid = ty(0x0103_0100);
    pub const MOBID: Auid = ty(0x0103_0200);
    pub const TIMESTAMP: Auid = ty(0x0301_0700);
    pub const BOOLEAN: Auid = ty(0x0104_0100);
    pub const INDIRECT: Auid = ty(0x0410_0300);
    pub const OPAQUE: Auid = ty(0x0410_0400);
    pub const STREAM: Auid = ty(0x0410_0200);
    pub const AUID_SET: Auid = ty(0x0403_0100);
    pub const AUID_ARRAY: Auid = ty(0x0401_0600);
    pub const INT64_ARRAY: Auid = ty(0x0401_0400);
    pub const CLASS_WEAK_REF: Auid = ty(0x0501_0100);
    pub const TYPE_WEAK_REF_T: Auid = ty(0x0501_0900);
    /// Not an AAF identifier: this crate's name for "array of strings",
    /// used only by the built-in meta-model property definitions.
    pub const PREMIX_STRING_ARRAY: Auid =
        Auid::from_fields(0x7072_656d, 0x6978, 0x0001, [0, 0, 0, 0, 0, 0, 0, 0]);
    /// Not an AAF identifier: strong references of the meta model.
    pub const PREMIX_REFERENCE: Auid =
        Auid::from_fields(0x7072_656d, 0x6978, 0x0002, [0, 0, 0, 0, 0, 0, 0, 0]);
}

/// All definitions of one file.
#[derive(Clone, Debug, Default)]
pub struct MetaDictionary {
    pub classes: HashMap<Auid, ClassDef>,
    pub properties: HashMap<u16, PropertyDef>,
    pub types: HashMap<Auid, TypeDef>,
}

impl MetaDictionary {
    pub fn class(&self, auid: &Auid) -> Option<&ClassDef> {
        self.classes.get(auid)
    }

    pub fn property(&self, pid: u16) -> Option<&PropertyDef> {
        self.properties.get(&pid)
    }

    /// The type, from the file or, for a few primitive baseline types, from
    /// the built-in table (files always define them, but an Indirect value
    /// may name one the writer did not register).
    pub fn type_def(&self, auid: &Auid) -> Option<TypeDef> {
        if let Some(t) = self.types.get(auid) {
            return Some(t.clone());
        }
        let int = |size: u8, signed: bool| TypeKind::Integer { size, signed };
        let kind = match *auid {
            ids::UINT8 => int(1, false),
            ids::UINT16 => int(2, false),
            ids::UINT32 => int(4, false),
            ids::UINT64 => int(8, false),
            ids::INT8 => int(1, true),
            ids::INT16 => int(2, true),
            ids::INT32 => int(4, true),
            ids::INT64 => int(8, true),
            ids::CHARACTER => TypeKind::Character,
            ids::STRING => TypeKind::String {
                element: ids::CHARACTER,
            },
            ids::RATIONAL => TypeKind::Record {
                members: vec![
                    ("Numerator".into(), ids::INT32),
                    ("Denominator".into(), ids::INT32),
                ],
            },
            ids::PREMIX_STRING_ARRAY => TypeKind::VariableArray {
                element: ids::STRING,
            },
            ids::PREMIX_REFERENCE => TypeKind::StrongRef {
                class: Auid::default(),
            },
            ids::INDIRECT => TypeKind::Indirect,
            ids::AUID_SET => TypeKind::Set { element: ids::AUID },
            ids::AUID_ARRAY => TypeKind::VariableArray { element: ids::AUID },
            ids::INT64_ARRAY => TypeKind::VariableArray {
                element: ids::INT64,
            },
            ids::CLASS_WEAK_REF | ids::TYPE_WEAK_REF_T => TypeKind::WeakRef {
                class: Auid::default(),
                target_set: Vec::new(),
            },
            // Decoded as an AUID before its kind is consulted; the kind
            // only gives its size.
            ids::AUID => TypeKind::FixedArray {
                element: ids::UINT8,
                count: 16,
            },
            ids::BOOLEAN => TypeKind::Enum {
                element: ids::UINT8,
                names: vec!["False".into(), "True".into()],
                values: vec![0, 1],
            },
            _ => return None,
        };
        Some(TypeDef {
            auid: *auid,
            name: String::new(),
            kind,
        })
    }

    /// Adds definitions for the meta-model pids (root, MetaDictionary,
    /// class, property and type definitions: 0x0001–0x0020), which files
    /// do not list in their own MetaDictionary.
    pub(crate) fn add_meta_model(&mut self) {
        use ids::*;
        let r = PREMIX_REFERENCE;
        let table: [(u16, &str, Auid); 32] = [
            (0x01, "MetaDictionary", r),
            (0x02, "Header", r),
            (0x03, "ClassDefinitions", r),
            (0x04, "TypeDefinitions", r),
            (0x05, "Identification", AUID),
            (0x06, "Name", STRING),
            (0x07, "Description", STRING),
            (0x08, "ParentClass", CLASS_WEAK_REF),
            (0x09, "Properties", r),
            (0x0A, "IsConcrete", BOOLEAN),
            (0x0B, "Type", TYPE_WEAK_REF_T),
            (0x0C, "IsOptional", BOOLEAN),
            (0x0D, "LocalIdentification", UINT16),
            (0x0E, "IsUniqueIdentifier", BOOLEAN),
            (0x0F, "Size", UINT8),
            (0x10, "IsSigned", BOOLEAN),
            (0x11, "ReferencedType", CLASS_WEAK_REF),
            (0x12, "ReferencedType", CLASS_WEAK_REF),
            (0x13, "TargetSet", AUID_ARRAY),
            (0x14, "ElementType", TYPE_WEAK_REF_T),
            (0x15, "ElementNames", PREMIX_STRING_ARRAY),
            (0x16, "ElementValues", INT64_ARRAY),
            (0x17, "ElementType", TYPE_WEAK_REF_T),
            (0x18, "ElementCount", UINT32),
            (0x19, "ElementType", TYPE_WEAK_REF_T),
            (0x1A, "ElementType", TYPE_WEAK_REF_T),
            (0x1B, "ElementType", TYPE_WEAK_REF_T),
            (0x1C, "MemberTypes", r),
            (0x1D, "MemberNames", PREMIX_STRING_ARRAY),
            (0x1E, "RenamedType", TYPE_WEAK_REF_T),
            (0x1F, "ElementNames", PREMIX_STRING_ARRAY),
            (0x20, "ElementValues", AUID_ARRAY),
        ];
        for (pid, name, type_id) in table {
            self.properties.entry(pid).or_insert_with(|| PropertyDef {
                auid: Auid::default(),
                name: name.to_owned(),
                pid,
                type_id,
                optional: true,
                unique: pid == 0x05,
                owner: Auid::default(),
            });
        }
    }

    /// Adds baseline definitions (AAF object specification) of the classes
    /// an edit may create — OperationGroup, ConstantValue, Operation- and
    /// ParameterDefinition, TaggedValue — with their properties, where the
    /// file does not list them: writers list only the classes they use
    /// (Pro Tools files lack OperationGroup), and readers (the AAF SDK,
    /// pyaaf2) know the baseline. Definitions the file has are kept.
    pub(crate) fn add_baseline(&mut self) {
        use ids::*;
        const fn c(d3: u16) -> Auid {
            Auid::from_fields(
                0x0d01_0101,
                0x0101,
                d3,
                [0x06, 0x0e, 0x2b, 0x34, 0x02, 0x06, 0x01, 0x01],
            )
        }
        let r = PREMIX_REFERENCE;
        let w = CLASS_WEAK_REF;
        // (class, name, parent, concrete, [(pid, name, type)])
        type Props = Vec<(u16, &'static str, Auid)>;
        let table: Vec<(u16, &str, u16, bool, Props)> = vec![
            (0x0100, "InterchangeObject", 0, false, vec![]),
            (
                0x0200,
                "Component",
                0x0100,
                false,
                vec![
                    (0x0201, "DataDefinition", w),
                    (0x0202, "Length", INT64),
                    (0x0204, "UserComments", r),
                ],
            ),
            (0x0300, "Segment", 0x0200, false, vec![]),
            (
                0x0a00,
                "OperationGroup",
                0x0300,
                true,
                vec![
                    (0x0b01, "Operation", w),
                    (0x0b02, "InputSegments", r),
                    (0x0b03, "Parameters", r),
                ],
            ),
            (
                0x3c00,
                "Parameter",
                0x0100,
                false,
                vec![(0x4c01, "Definition", AUID)],
            ),
            (
                0x3d00,
                "ConstantValue",
                0x3c00,
                true,
                vec![(0x4d01, "Value", INDIRECT)],
            ),
            (
                0x1a00,
                "DefinitionObject",
                0x0100,
                false,
                vec![
                    (0x1b01, "Identification", AUID),
                    (0x1b02, "Name", STRING),
                    (0x1b03, "Description", STRING),
                ],
            ),
            (
                0x1c00,
                "OperationDefinition",
                0x1a00,
                true,
                vec![
                    (0x1e01, "DataDefinition", w),
                    (0x1e02, "IsTimeWarp", BOOLEAN),
                    (0x1e07, "NumberInputs", INT32),
                ],
            ),
            (
                0x1d00,
                "ParameterDefinition",
                0x1a00,
                true,
                vec![(0x1f01, "Type", w)],
            ),
            (
                0x2200,
                "Dictionary",
                0x0100,
                true,
                vec![
                    (0x2603, "OperationDefinitions", r),
                    (0x2604, "ParameterDefinitions", r),
                    (0x2605, "DataDefinitions", r),
                ],
            ),
            (
                0x3400,
                "Mob",
                0x0100,
                false,
                vec![(0x4406, "UserComments", r)],
            ),
            (
                0x3f00,
                "TaggedValue",
                0x0100,
                true,
                vec![(0x5001, "Name", STRING), (0x5003, "Value", INDIRECT)],
            ),
        ];
        for (class, name, parent, concrete, props) in table {
            let auid = c(class);
            let pids: Vec<u16> = props.iter().map(|p| p.0).collect();
            for (pid, pname, type_id) in props {
                self.properties.entry(pid).or_insert_with(|| PropertyDef {
                    auid: Auid::default(),
                    name: pname.to_owned(),
                    pid,
                    type_id,
                    optional: true,
                    unique: pid == 0x1b01,
                    owner: auid,
                });
            }
            let def = self.classes.entry(auid).or_insert_with(|| ClassDef {
                auid,
                name: name.to_owned(),
                parent: (parent != 0).then(|| c(parent)),
                concrete,
                properties: Vec::new(),
            });
            for pid in pids {
                if !def.properties.contains(&pid) {
                    def.properties.push(pid);
                }
            }
        }
    }

    /// The class and its ancestors, nearest first (stops on a cycle).
    pub fn lineage(&self, class: &Auid) -> Vec<Auid> {
        let mut out = vec![*class];
        let mut cur = *class;
        while let Some(p) = self.classes.get(&cur).and_then(|c| c.parent) {
            if out.contains(&p) {
                break;
            }
            out.push(p);
            cur = p;
        }
        out
    }

    /// Whether `class` is `ancestor` or derives from it.
    pub fn is_a(&self, class: &Auid, ancestor: &Auid) -> bool {
        self.lineage(class).contains(ancestor)
    }

    /// The pid of the property called `name` that `class` (or an ancestor)
    /// defines; this is how vendor properties, whose pids differ per file,
    /// are found.
    pub fn pid_by_name(&self, class: &Auid, name: &str) -> Option<u16> {
        for c in self.lineage(class) {
            if let Some(cd) = self.classes.get(&c) {
                for pid in &cd.properties {
                    if self.properties.get(pid).is_some_and(|p| p.name == name) {
                        return Some(*pid);
                    }
                }
            }
        }
        None
    }

    /// The class whose name is `name`.
    pub fn class_by_name(&self, name: &str) -> Option<&ClassDef> {
        self.classes.values().find(|c| c.name == name)
    }
}
