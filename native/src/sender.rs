//! Producing a batch's deliveries from the core, into the router's own confluent-kafka
//! producer: one `rd_kafka_produceva` call a delivery, without the GIL, instead of a Python
//! tuple, a `Producer.produce` call and its per-message state for each (~3.5 µs together, with
//! four headers; this path is under 1 µs).
//!
//! The producer stays confluent-kafka's: its configuration, transactions, flush and errors are
//! the Python side's as before. The core borrows its `rd_kafka_t *` (the first field after the
//! object header of confluent-kafka's `Handle`) and calls librdkafka through the very library
//! confluent-kafka loaded (`dlopen` with `RTLD_NOLOAD`: never a second copy). Before it trusts
//! the pointer it checks the handle's type and name (the producer's unique `client.id`);
//! anything unexpected is `Refused`, and the router then produces through Python as before.
//! Messages carry no opaque, so confluent-kafka's delivery callback skips them; a failed
//! delivery fails the transaction's commit, as it does on the Python path.

use std::ffi::{c_char, c_int, c_void, CStr, CString};

pub const QUEUE_FULL: c_int = -184; // RD_KAFKA_RESP_ERR__QUEUE_FULL
const PRODUCER: c_int = 0; // RD_KAFKA_PRODUCER
const MSG_F_COPY: c_int = 0x2;

const VTYPE_TOPIC: c_int = 1;
const VTYPE_VALUE: c_int = 4;
const VTYPE_KEY: c_int = 5;
const VTYPE_MSGFLAGS: c_int = 7;
const VTYPE_HEADER: c_int = 9;

#[repr(C)]
#[derive(Clone, Copy)]
struct Mem {
    ptr: *const c_void,
    size: usize,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct Header {
    name: *const c_char,
    val: *const c_void,
    size: isize,
}

/// `rd_kafka_vu_t`'s union: 64 bytes, as librdkafka pads it.
#[repr(C)]
#[derive(Clone, Copy)]
union VuData {
    cstr: *const c_char,
    i: c_int,
    mem: Mem,
    header: Header,
    _pad: [u8; 64],
}

/// `rd_kafka_vu_t`: one argument of `rd_kafka_produceva`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Vu {
    vtype: c_int,
    u: VuData,
}

impl Vu {
    fn topic(name: &CStr) -> Self {
        Vu {
            vtype: VTYPE_TOPIC,
            u: VuData {
                cstr: name.as_ptr(),
            },
        }
    }
    fn mem(vtype: c_int, bytes: &[u8]) -> Self {
        let mem = Mem {
            ptr: bytes.as_ptr().cast(),
            size: bytes.len(),
        };
        Vu {
            vtype,
            u: VuData { mem },
        }
    }
    fn copy() -> Self {
        Vu {
            vtype: VTYPE_MSGFLAGS,
            u: VuData { i: MSG_F_COPY },
        }
    }
    /// A header; a None value is a null header (librdkafka: a NULL value).
    fn header(name: &CStr, value: Option<&[u8]>) -> Self {
        let header = Header {
            name: name.as_ptr(),
            val: value.map_or(std::ptr::null(), |v| v.as_ptr().cast()),
            size: value.map_or(0, |v| v.len() as isize),
        };
        Vu {
            vtype: VTYPE_HEADER,
            u: VuData { header },
        }
    }
}

type Produceva = unsafe extern "C" fn(*mut c_void, *const Vu, usize) -> *mut c_void;
type ErrorCode = unsafe extern "C" fn(*const c_void) -> c_int;
type ErrorString = unsafe extern "C" fn(*const c_void) -> *const c_char;
type ErrorDestroy = unsafe extern "C" fn(*mut c_void);
type Name = unsafe extern "C" fn(*const c_void) -> *const c_char;
type Kind = unsafe extern "C" fn(*const c_void) -> c_int;

/// librdkafka's functions the sender calls, from the library already in the process.
#[derive(Clone, Copy)]
struct Api {
    produceva: Produceva,
    error_code: ErrorCode,
    error_string: ErrorString,
    error_destroy: ErrorDestroy,
    error_is_fatal: ErrorCode,
}

/// A produce call librdkafka refused: its error code and text.
#[derive(Debug)]
pub struct ProduceError {
    pub code: c_int,
    pub message: String,
    pub fatal: bool,
}

/// One message: topic, key, value and headers (name, value), borrowed for the call.
pub struct Message<'a> {
    pub topic: &'a CStr,
    pub key: Option<&'a [u8]>,
    pub value: &'a [u8],
    pub headers: &'a [(&'a CStr, Option<&'a [u8]>)],
}

/// A borrowed librdkafka producer handle and the functions to produce on it.
pub struct Sender {
    rk: usize, // rd_kafka_t *, as an address: librdkafka handles are safe across threads
    api: Api,
}

pub(crate) unsafe fn symbol<T: Copy>(lib: *mut c_void, name: &str) -> Result<T, String> {
    let c = CString::new(name).expect("no NUL in a symbol name");
    let found = libc::dlsym(lib, c.as_ptr());
    if found.is_null() {
        return Err(format!("librdkafka has no {name}"));
    }
    Ok(std::mem::transmute_copy::<*mut c_void, T>(&found))
}

impl Sender {
    /// The sender of the producer whose handle is `rk`, through the loaded `library`.
    ///
    /// # Safety
    /// `rk` must be read from a live confluent-kafka `Handle` (the caller keeps the producer
    /// object alive for as long as the sender is used).
    pub unsafe fn attach(rk: *mut c_void, library: &str, client_id: &str) -> Result<Self, String> {
        if rk.is_null() {
            return Err("the producer has no librdkafka handle (closed?)".into());
        }
        let path = CString::new(library).map_err(|_| "a NUL in the library path".to_string())?;
        let lib = libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
        if lib.is_null() {
            return Err(format!("{library} is not loaded in this process"));
        }
        let kind: Kind = symbol(lib, "rd_kafka_type")?;
        let name: Name = symbol(lib, "rd_kafka_name")?;
        let api = Api {
            produceva: symbol(lib, "rd_kafka_produceva")?,
            error_code: symbol(lib, "rd_kafka_error_code")?,
            error_string: symbol(lib, "rd_kafka_error_string")?,
            error_destroy: symbol(lib, "rd_kafka_error_destroy")?,
            error_is_fatal: symbol(lib, "rd_kafka_error_is_fatal")?,
        };
        libc::dlclose(lib); // confluent-kafka keeps the library loaded; this was a second reference
        if kind(rk) != PRODUCER {
            return Err("the handle is not a librdkafka producer".into());
        }
        let named = CStr::from_ptr(name(rk)).to_string_lossy();
        if !named.starts_with(&format!("{client_id}#producer-")) {
            return Err(format!("the handle is named {named:?}, not {client_id:?}"));
        }
        Ok(Sender {
            rk: rk as usize,
            api,
        })
    }

    /// Queue one message (librdkafka copies it); `QUEUE_FULL` means: flush, then again.
    pub fn produce(&self, message: &Message<'_>, vus: &mut Vec<Vu>) -> Result<(), ProduceError> {
        vus.clear();
        vus.push(Vu::topic(message.topic));
        if let Some(key) = message.key {
            vus.push(Vu::mem(VTYPE_KEY, key));
        }
        vus.push(Vu::mem(VTYPE_VALUE, message.value));
        vus.push(Vu::copy());
        for (name, value) in message.headers {
            vus.push(Vu::header(name, *value));
        }
        // SAFETY: `rk` was checked at attach and outlives the sender; the arguments borrow
        // memory that lives through the call, and librdkafka copies what it keeps.
        unsafe {
            let error = (self.api.produceva)(self.rk as *mut c_void, vus.as_ptr(), vus.len());
            if error.is_null() {
                return Ok(());
            }
            let code = (self.api.error_code)(error);
            let message = CStr::from_ptr((self.api.error_string)(error))
                .to_string_lossy()
                .into_owned();
            let fatal = (self.api.error_is_fatal)(error) != 0;
            (self.api.error_destroy)(error);
            Err(ProduceError {
                code,
                message,
                fatal,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vu_is_laid_out_as_librdkafkas() {
        // rd_kafka_vu_t: an int-sized enum, then a 64-byte union aligned for pointers.
        assert_eq!(std::mem::size_of::<Vu>(), 72);
        assert_eq!(std::mem::align_of::<Vu>(), 8);
        let v = Vu::mem(VTYPE_VALUE, b"abc");
        assert_eq!(v.vtype, VTYPE_VALUE);
        assert_eq!(unsafe { v.u.mem.size }, 3);
    }

    #[test]
    fn attach_refuses_what_is_not_a_loaded_library() {
        let fake = 8 as *mut c_void;
        let refused = unsafe { Sender::attach(fake, "/nonexistent/librdkafka.so.1", "x") };
        assert!(refused.err().expect("refused").contains("not loaded"));
        let null = unsafe { Sender::attach(std::ptr::null_mut(), "x", "x") };
        assert!(null
            .err()
            .expect("refused")
            .contains("no librdkafka handle"));
    }
}
