//! AAF files: the object layer over MS-CFB, read lazily and edited in place. (Work in progress: issue 9.)
