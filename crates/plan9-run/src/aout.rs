//! Plan 9's a.out header (a.out(6)), as Go's linker writes it for
//! plan9/amd64: eight big-endian 32-bit words, then, because the magic
//! carries `HDR_MAGIC`, the 64-bit entry point.

/// `HDR_MAGIC`: the header is followed by a 64-bit entry point.
const HDR_MAGIC: u32 = 0x0000_8000;
/// `S_MAGIC` (amd64): `_MAGIC(HDR_MAGIC, 26)`.
pub const S_MAGIC: u32 = HDR_MAGIC | ((4 * 26) * 26 + 7);
/// Bytes of the header: the 32-byte `Exec` and the 8-byte entry.
pub const HEADR: u64 = 40;
/// Where text is loaded on amd64 (the header included): Go's linker's
/// `-T` default for plan9/amd64 is `UTZERO + HEADR`.
pub const UTZERO: u64 = 0x20_0000;
/// Go's linker rounds the data segment's address to 2 MiB on plan9/amd64.
pub const SEG_ROUND: u64 = 0x20_0000;

/// The fields of a header the loader uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub text: u64,
    pub data: u64,
    pub bss: u64,
    pub entry: u64,
}

impl Header {
    /// Parses the first bytes of a file, or says why it is not a Plan 9
    /// amd64 a.out.
    pub fn parse(b: &[u8]) -> Result<Header, String> {
        if b.len() < HEADR as usize {
            return Err(format!("{} bytes: too short for an a.out header", b.len()));
        }
        let w = |i: usize| u32::from_be_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]]);
        let magic = w(0);
        if magic != S_MAGIC {
            return Err(format!(
                "magic {magic:#x} is not Plan 9 amd64's {S_MAGIC:#x} (build with GOOS=plan9 GOARCH=amd64)"
            ));
        }
        let mut e = [0u8; 8];
        e.copy_from_slice(&b[32..40]);
        let h = Header {
            text: u64::from(w(1)),
            data: u64::from(w(2)),
            bss: u64::from(w(3)),
            entry: u64::from_be_bytes(e),
        };
        if h.entry < UTZERO + HEADR || h.entry >= UTZERO + HEADR + h.text {
            return Err(format!(
                "entry point {:#x} is outside the text segment",
                h.entry
            ));
        }
        Ok(h)
    }

    /// One past the last byte of text in memory.
    pub fn text_end(&self) -> u64 {
        UTZERO + HEADR + self.text
    }

    /// Where the data segment starts in memory.
    pub fn data_start(&self) -> u64 {
        self.text_end().next_multiple_of(SEG_ROUND)
    }

    /// The first break: the end of bss.
    pub fn bss_end(&self) -> u64 {
        self.data_start() + self.data + self.bss
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_gos_linker_writes() {
        let mut b = Vec::new();
        for w in [S_MAGIC, 0x14ab10, 0x86a0, 0x24290, 0x13fa5, 0x2746e0, 0, 0] {
            b.extend_from_slice(&w.to_be_bytes());
        }
        b.extend_from_slice(&0x2746e0u64.to_be_bytes());
        let h = Header::parse(&b).unwrap();
        assert_eq!(h.entry, 0x2746e0);
        assert_eq!(h.text_end(), 0x200028 + 0x14ab10);
        assert_eq!(h.data_start(), 0x400000);
        assert_eq!(h.bss_end(), 0x400000 + 0x86a0 + 0x24290);
        b[3] = 0x97 ^ 1;
        assert!(Header::parse(&b).unwrap_err().contains("GOOS=plan9"));
    }
}
