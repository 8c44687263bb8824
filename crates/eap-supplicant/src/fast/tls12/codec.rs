//! Reading and writing the TLS presentation language (RFC 5246 §4): bounded readers that
//! never panic and say which field was short.

use super::TlsError;

/// A cursor over received bytes.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Reader<'a> {
        Reader { buf, what }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], TlsError> {
        if n > self.buf.len() {
            return Err(TlsError::Decode(self.what));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, TlsError> {
        Ok(*self.take(1)?.first().ok_or(TlsError::Decode(self.what))?)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, TlsError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([
            *b.first().unwrap_or(&0),
            *b.get(1).unwrap_or(&0),
        ]))
    }

    pub(crate) fn u24(&mut self) -> Result<usize, TlsError> {
        let b = self.take(3)?;
        Ok(b.iter().fold(0usize, |acc, x| (acc << 8) | usize::from(*x)))
    }

    pub(crate) fn vec8(&mut self) -> Result<&'a [u8], TlsError> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }

    pub(crate) fn vec16(&mut self) -> Result<&'a [u8], TlsError> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }

    pub(crate) fn vec24(&mut self) -> Result<&'a [u8], TlsError> {
        let n = self.u24()?;
        self.take(n)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn rest_len(&self) -> usize {
        self.buf.len()
    }

    /// Errors when bytes are left over.
    pub(crate) fn finish(&self) -> Result<(), TlsError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(TlsError::Decode(self.what))
        }
    }
}

pub(crate) fn put_u16(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&u16::try_from(v).unwrap_or(u16::MAX).to_be_bytes());
}

pub(crate) fn put_u24(out: &mut Vec<u8>, v: usize) {
    let v = u32::try_from(v)
        .unwrap_or(0x00ff_ffff)
        .min(0x00ff_ffff)
        .to_be_bytes();
    out.extend_from_slice(v.get(1..).unwrap_or(&[]));
}

pub(crate) fn put_vec8(out: &mut Vec<u8>, v: &[u8]) {
    out.push(u8::try_from(v.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(v);
}

pub(crate) fn put_vec16(out: &mut Vec<u8>, v: &[u8]) {
    put_u16(out, v.len());
    out.extend_from_slice(v);
}

/// A handshake message: type, 24-bit length, body.
pub(crate) fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(ty);
    put_u24(&mut out, body.len());
    out.extend_from_slice(body);
    out
}
