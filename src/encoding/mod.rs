//! Byte and text encodings shared by every layer above the input: text views over binary
//! memory (ASCII and UTF-16LE), base64 bodies and their framing. They sit below `keys` because
//! the key model (the public-key inventory, residue forms) reads the same encodings the
//! detectors do, and a lower layer must not borrow them from a detector module.

pub mod text;
