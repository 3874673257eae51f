//! A minimal WebSocket client for the fleet's sockets: the generator shares
//! the machine with the server it measures, so each socket reads into one
//! reusable buffer and looks at frames in place (no message allocation, no
//! UTF-8 validation, no JSON parse). It speaks just what the bench needs:
//! the HTTP/1.1 handshake, masked text frames out, the server's unmasked
//! frames in (fragmented ones reassembled), pings answered, close seen.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::Error;

/// Largest handshake response read.
const MAX_HEAD: usize = 16 * 1024;
/// Read buffer's starting size (one upload's frames fit).
const READ_CHUNK: usize = 8 * 1024;

/// What [`Socket::next`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A whole text (or binary) message's bytes.
    Text(&'a [u8]),
    /// The server closed, with its code if it sent one.
    Close(Option<u16>),
}

/// An open client socket.
#[derive(Debug)]
pub struct Socket {
    tcp: TcpStream,
    buf: Vec<u8>,
    /// Start of unread bytes in `buf`.
    at: usize,
    /// A fragmented message being reassembled.
    partial: Vec<u8>,
}

/// One frame's place in a buffer: its payload is `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The final frame of its message.
    pub fin: bool,
    /// The frame's opcode (`0x1` text, `0x8` close, `0x9` ping, ...).
    pub opcode: u8,
    /// Where the payload starts.
    pub start: usize,
    /// Where the payload (and the frame) ends.
    pub end: usize,
}

/// Parses the server frame at the start of `rest`, if it is all there.
pub fn header(rest: &[u8]) -> Result<Option<Header>, Error> {
    if rest.len() < 2 {
        return Ok(None);
    }
    if rest[1] & 0x80 != 0 {
        return Err(Error::Socket("the server sent a masked frame".to_owned()));
    }
    let (len, head) = match rest[1] & 0x7f {
        126 if rest.len() >= 4 => (u64::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
        127 if rest.len() >= 10 => {
            let mut be = [0u8; 8];
            be.copy_from_slice(&rest[2..10]);
            (u64::from_be_bytes(be), 10)
        }
        126 | 127 => return Ok(None),
        n => (u64::from(n), 2),
    };
    let len = usize::try_from(len)
        .ok()
        .filter(|&len| len <= MAX_MESSAGE)
        .ok_or_else(|| Error::Socket(format!("frame of {len} bytes")))?;
    if rest.len() < head + len {
        return Ok(None);
    }
    Ok(Some(Header {
        fin: rest[0] & 0x80 != 0,
        opcode: rest[0] & 0x0f,
        start: head,
        end: head + len,
    }))
}

/// A client frame: `payload` masked, as a client must send it.
pub fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
    const MASK: [u8; 4] = [0x5a, 0x17, 0xc3, 0x8e];
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x80 | opcode);
    if payload.len() < 126 {
        frame.push(0x80 | payload.len() as u8);
    } else if let Ok(len) = u16::try_from(payload.len()) {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&len.to_be_bytes());
    } else {
        frame.push(0x80 | 127);
        frame.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    }
    frame.extend_from_slice(&MASK);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    frame
}

/// Largest message accepted from a server.
pub const MAX_MESSAGE: usize = 16 << 20;

/// The status code a close frame's payload carries, if any.
pub fn close_code(payload: &[u8]) -> Option<u16> {
    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]))
}

/// Appends one fragment of a message to `partial`, refusing messages over
/// [`MAX_MESSAGE`].
pub fn join_fragment(partial: &mut Vec<u8>, payload: &[u8]) -> Result<(), Error> {
    if partial.len() + payload.len() > MAX_MESSAGE {
        return Err(Error::Socket("fragmented message too long".to_owned()));
    }
    partial.extend_from_slice(payload);
    Ok(())
}

impl Socket {
    /// Connects to `authority` (`host:port`) and upgrades `path` (with its
    /// query) to a WebSocket.
    pub async fn connect(authority: &str, path: &str) -> Result<Self, Error> {
        let mut tcp = TcpStream::connect(authority).await.map_err(|e| {
            Error::Socket(format!(
                "connect: {e} (is the open-file limit high enough?)"
            ))
        })?;
        let _ = tcp.set_nodelay(true);
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        tcp.write_all(request.as_bytes())
            .await
            .map_err(|e| Error::Socket(format!("handshake: {e}")))?;
        let mut buf = Vec::with_capacity(READ_CHUNK);
        let head_end = loop {
            if let Some(at) = memchr::memmem::find(&buf, b"\r\n\r\n") {
                break at + 4;
            }
            if buf.len() > MAX_HEAD {
                return Err(Error::Socket(
                    "handshake: response head too long".to_owned(),
                ));
            }
            let n = tcp
                .read_buf(&mut buf)
                .await
                .map_err(|e| Error::Socket(format!("handshake: {e}")))?;
            if n == 0 {
                return Err(Error::Socket("handshake: closed by the server".to_owned()));
            }
        };
        let status = buf[..head_end].split(|&b| b == b'\r').next().unwrap_or(&[]);
        if !status.starts_with(b"HTTP/1.1 101") {
            return Err(Error::Socket(format!(
                "handshake refused: {}",
                String::from_utf8_lossy(status)
            )));
        }
        Ok(Self {
            tcp,
            buf,
            at: head_end,
            partial: Vec::new(),
        })
    }

    /// Sends one text message (masked, as a client must).
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send(0x1, text.as_bytes()).await
    }

    async fn send(&mut self, opcode: u8, payload: &[u8]) -> Result<(), Error> {
        self.tcp
            .write_all(&masked(opcode, payload))
            .await
            .map_err(|e| Error::Socket(format!("write: {e}")))
    }

    /// The open TCP stream (still non-blocking, as tokio set it) and the
    /// bytes read past the last message, for the fleet's readers.
    pub fn into_parts(mut self) -> Result<(std::net::TcpStream, Vec<u8>), Error> {
        let rest = self.buf.split_off(self.at);
        let tcp = self
            .tcp
            .into_std()
            .map_err(|e| Error::Socket(format!("detach: {e}")))?;
        Ok((tcp, rest))
    }

    /// Parses the frame header at `self.at`, if the whole frame is buffered.
    fn header(&self) -> Result<Option<Header>, Error> {
        Ok(header(&self.buf[self.at..])?.map(|h| Header {
            start: h.start + self.at,
            end: h.end + self.at,
            ..h
        }))
    }

    /// Reads more bytes; false when the server closed the stream.
    async fn fill(&mut self) -> Result<bool, Error> {
        if self.at > 0 {
            self.buf.drain(..self.at);
            self.at = 0;
        }
        self.buf.reserve(READ_CHUNK);
        let n = self
            .tcp
            .read_buf(&mut self.buf)
            .await
            .map_err(|e| Error::Socket(format!("read: {e}")))?;
        Ok(n > 0)
    }

    /// The next message or close; `None` when the stream ended without one.
    pub async fn next(&mut self) -> Result<Option<Event<'_>>, Error> {
        // Where the message is: `buf[start..end]`, or `partial` when reassembled.
        let mut whole = None;
        // The previous message (if reassembled) was read by now.
        self.partial.clear();
        loop {
            let Some(frame) = self.header()? else {
                if !self.fill().await? {
                    return Ok(None);
                }
                continue;
            };
            self.at = frame.end;
            match frame.opcode {
                0x9 => {
                    let payload = self.buf[frame.start..frame.end].to_vec();
                    self.send(0xA, &payload).await?;
                }
                0x8 => {
                    let code = close_code(&self.buf[frame.start..frame.end]);
                    return Ok(Some(Event::Close(code)));
                }
                0x1 | 0x2 if frame.fin => {
                    whole = Some((frame.start, frame.end));
                    break;
                }
                0x0..=0x2 => {
                    join_fragment(&mut self.partial, &self.buf[frame.start..frame.end])?;
                    if frame.fin {
                        break;
                    }
                }
                _ => {}
            }
        }
        match whole {
            Some((start, end)) => Ok(Some(Event::Text(&self.buf[start..end]))),
            None => Ok(Some(Event::Text(&self.partial))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A fake server: answers the handshake with 101, then sends `frames`
    /// and returns what the client wrote after the handshake.
    async fn serve(frames: Vec<u8>) -> (String, tokio::task::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        let task = tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            while memchr::memmem::find(&head, b"\r\n\r\n").is_none() {
                tcp.read_buf(&mut head).await.unwrap();
            }
            tcp.write_all(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")
                .await
                .unwrap();
            tcp.write_all(&frames).await.unwrap();
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(
                std::time::Duration::from_millis(300),
                tcp.read_to_end(&mut rest),
            )
            .await;
            rest
        });
        (authority, task)
    }

    #[tokio::test]
    async fn fragments_are_joined_pings_answered_and_close_codes_read() {
        let mut frames = Vec::new();
        frames.extend_from_slice(&[0x89, 2, b'h', b'i']); // ping "hi"
        frames.extend_from_slice(&[0x01, 3, b'a', b'b', b'c']); // text, not final
        frames.extend_from_slice(&[0x80, 2, b'd', b'e']); // continuation, final
        frames.push(0x81);
        frames.push(126);
        frames.extend_from_slice(&300u16.to_be_bytes());
        frames.extend_from_slice(&[b'x'; 300]);
        frames.extend_from_slice(&[0x88, 2, 0x03, 0xf5]); // close 1013
        let (authority, server) = serve(frames).await;
        let mut socket = Socket::connect(&authority, "/ws/").await.unwrap();
        assert_eq!(socket.next().await.unwrap(), Some(Event::Text(b"abcde")));
        let Some(Event::Text(long)) = socket.next().await.unwrap() else {
            panic!("no long frame");
        };
        assert_eq!(long.len(), 300);
        assert_eq!(socket.next().await.unwrap(), Some(Event::Close(Some(1013))));
        drop(socket);
        let written = server.await.unwrap();
        // The pong: masked, payload "hi" under the mask.
        assert_eq!(written[0], 0x8A);
        assert_eq!(written[1], 0x80 | 2);
        let mask = &written[2..6];
        assert_eq!([written[6] ^ mask[0], written[7] ^ mask[1]], *b"hi");
    }

    #[tokio::test]
    async fn a_refused_handshake_says_its_status() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let authority = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut head = [0u8; 1024];
            let _ = tcp.read(&mut head).await;
            let _ = tcp
                .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
                .await;
        });
        let error = Socket::connect(&authority, "/ws/").await.unwrap_err();
        assert!(error.to_string().contains("403"), "{error}");
    }
}
