//! Receiving on the JavaScript thread: a libuv poll handle on the socket's
//! descriptor in Node's own event loop. When the socket is readable, libuv
//! calls us in its poll phase; we drain it with `recvmmsg` and call the
//! JavaScript callback once per batch through `napi_make_callback`, so
//! promise jobs and `process.nextTick` callbacks run after each batch as
//! they do after any Node I/O callback.
//!
//! Compared with the receive thread this saves a thread wake-up and a
//! cross-thread queue per batch: on a small machine each datagram that
//! arrives while the process sleeps costs one context switch instead of two.
//!
//! Batches up to 16 KiB are written into a slab: a 64 KiB Buffer JavaScript
//! owns, filled front to back, each batch handed over as the slab and the
//! offset it starts at; a full slab is let go (the views of it JavaScript
//! still holds keep it alive) for a fresh one. A request's datagram then
//! costs no allocation and one copy out of the `recvmmsg` buffers, where a
//! Buffer per batch cost an allocation, a copy and a JavaScript object to
//! collect. Nothing in a slab is written twice, so the views handed out
//! stay as they were received.
//!
//! libuv's `uv_poll_*` functions are exported by the Node binary (as the
//! N-API functions are) and resolved when the addon loads. The handle's
//! memory is sized with `uv_handle_size` at run time, so no libuv struct
//! layout is assumed beyond the `data` pointer every handle starts with.
//!
//! Everything here runs on the JavaScript thread: `start`, `stop`, `close`
//! are called from JavaScript, the poll callback and the close callback from
//! libuv on the same loop.

use std::os::raw::{c_int, c_void};
use std::ptr;
use std::sync::Arc;

use napi::bindgen_prelude::ToNapiValue;
use napi::sys;

use super::imp::{recv_msgs, take_batch, write_batch, RecvScratch, Shared, RECV_MSGS};
use super::{RecvBatch, RECV_COPY_MAX};
use crate::error::{err, Result};

/// `UV_POLL` in libuv's `uv_handle_type`.
const UV_POLL: c_int = 8;
/// `UV_READABLE` in libuv's `uv_poll_event`.
const UV_READABLE: c_int = 1;
/// Batches handed to JavaScript per readiness callback before libuv gets
/// the loop back (the handle is level-triggered: it fires again at once
/// when more is queued, after timers and other I/O had their turn).
const BATCHES_PER_WAKE: usize = 8;
/// The receive slab's size: four of the largest batches it takes
/// ([`RECV_COPY_MAX`]), and the most one view of it kept for long can hold
/// on to.
const SLAB_SIZE: usize = 64 * 1024;

type PollCb = unsafe extern "C" fn(handle: *mut c_void, status: c_int, events: c_int);
type CloseCb = unsafe extern "C" fn(handle: *mut c_void);

extern "C" {
  fn uv_handle_size(kind: c_int) -> usize;
  fn uv_poll_init(loop_: *mut sys::uv_loop_s, handle: *mut c_void, fd: c_int) -> c_int;
  fn uv_poll_start(handle: *mut c_void, events: c_int, cb: PollCb) -> c_int;
  fn uv_poll_stop(handle: *mut c_void) -> c_int;
  fn uv_close(handle: *mut c_void, cb: Option<CloseCb>);
  fn uv_unref(handle: *mut c_void);
}

/// What the libuv callbacks need; owned by the handle (its `data` field)
/// from `Poller::new` until the close callback frees both.
struct Ctx {
  env: sys::napi_env,
  callback: sys::napi_ref,
  async_context: sys::napi_async_context,
  shared: Arc<Shared>,
  scratch: RecvScratch,
  /// The receive slab (a Buffer; null before the first batch) and where
  /// its free part starts.
  slab: sys::napi_ref,
  slab_used: usize,
  /// Cleared by `stop()`/`close()`, also from inside the JavaScript callback.
  active: bool,
  closing: bool,
  /// The handle's memory (u64s for pointer alignment).
  handle: Box<[u64]>,
}

/// A started event-loop receiver for one socket. Not `Send` by nature (it
/// lives on the JavaScript thread); the socket's mutex requires `Send`, and
/// every use is on that thread.
pub struct Poller {
  ctx: *mut Ctx,
}

// SAFETY: see the type's description: created, used and closed on the
// JavaScript thread only.
unsafe impl Send for Poller {}

fn check(status: sys::napi_status, what: &str) -> Result<()> {
  if status == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(err("SocketError", format!("SocketError: {what} failed (napi status {status})")))
  }
}

impl Poller {
  /// Creates the poll handle in `env`'s loop, with `callback` called for
  /// every batch, and starts it. The handle never keeps the loop alive by
  /// itself (JavaScript decides that, as for the receive thread).
  ///
  /// # Safety
  /// `callback` must be a function value of `env`, on its thread.
  pub unsafe fn start(env: sys::napi_env, callback: sys::napi_value, shared: Arc<Shared>) -> Result<Poller> {
    let mut uv_loop: *mut sys::uv_loop_s = ptr::null_mut();
    check(sys::napi_get_uv_event_loop(env, &mut uv_loop), "napi_get_uv_event_loop")?;
    let mut callback_ref = ptr::null_mut();
    check(sys::napi_create_reference(env, callback, 1, &mut callback_ref), "napi_create_reference")?;
    let mut resource = ptr::null_mut();
    let mut name = ptr::null_mut();
    check(sys::napi_create_object(env, &mut resource), "napi_create_object")?;
    let label = "rxjs-quiche:UdpSocket.receive";
    check(sys::napi_create_string_utf8(env, label.as_ptr().cast(), label.len() as isize, &mut name), "napi_create_string_utf8")?;
    let mut async_context = ptr::null_mut();
    if let Err(e) = check(sys::napi_async_init(env, resource, name, &mut async_context), "napi_async_init") {
      sys::napi_delete_reference(env, callback_ref);
      return Err(e);
    }
    let words = uv_handle_size(UV_POLL).div_ceil(8);
    let fd = shared.fd;
    let ctx = Box::into_raw(Box::new(Ctx {
      env,
      callback: callback_ref,
      async_context,
      shared,
      scratch: RecvScratch::new(),
      slab: ptr::null_mut(),
      slab_used: 0,
      active: false,
      closing: false,
      handle: vec![0u64; words].into_boxed_slice(),
    }));
    let handle = (*ctx).handle.as_mut_ptr().cast::<c_void>();
    let rc = uv_poll_init(uv_loop, handle, fd);
    if rc != 0 {
      release(ctx);
      return Err(err("SocketError", format!("SocketError: uv_poll_init failed ({rc})")));
    }
    // The handle's first field is `void* data`.
    *handle.cast::<*mut Ctx>() = ctx;
    uv_unref(handle);
    sys::napi_add_env_cleanup_hook(env, Some(on_env_teardown), ctx.cast());
    let poller = Poller { ctx };
    if let Err(e) = poller.resume() {
      poller.close();
      return Err(e);
    }
    Ok(poller)
  }

  /// Stops watching the socket; what arrives waits in the kernel's queue.
  pub fn pause(&self) {
    // SAFETY: ctx lives until close(); we are on the loop's thread.
    unsafe {
      let ctx = &mut *self.ctx;
      if ctx.active && !ctx.closing {
        uv_poll_stop(ctx.handle.as_mut_ptr().cast());
        ctx.active = false;
      }
    }
  }

  /// Watches the socket again.
  pub fn resume(&self) -> Result<()> {
    // SAFETY: as in pause().
    unsafe {
      let ctx = &mut *self.ctx;
      if ctx.closing {
        return Err(err("SocketError", "SocketError: the socket is closed".to_string()));
      }
      if !ctx.active {
        let rc = uv_poll_start(ctx.handle.as_mut_ptr().cast(), UV_READABLE, on_readable);
        if rc != 0 {
          return Err(err("SocketError", format!("SocketError: uv_poll_start failed ({rc})")));
        }
        ctx.active = true;
      }
    }
    Ok(())
  }

  /// Stops and closes the handle; libuv frees it on a later loop turn, so
  /// this is safe from inside the JavaScript callback too.
  pub fn close(self) {
    // SAFETY: as in pause(); after this nothing but the close callback
    // touches ctx.
    unsafe { begin_close(self.ctx) };
  }
}

unsafe fn begin_close(ctx: *mut Ctx) {
  let c = &mut *ctx;
  if c.closing {
    return;
  }
  c.closing = true;
  c.active = false;
  sys::napi_remove_env_cleanup_hook(c.env, Some(on_env_teardown), ctx.cast());
  let handle = c.handle.as_mut_ptr().cast::<c_void>();
  uv_poll_stop(handle);
  uv_close(handle, Some(on_closed));
}

/// Frees what `start` made (the handle is closed or was never initialised).
unsafe fn release(ctx: *mut Ctx) {
  let c = Box::from_raw(ctx);
  sys::napi_delete_reference(c.env, c.callback);
  if !c.slab.is_null() {
    sys::napi_delete_reference(c.env, c.slab);
  }
  sys::napi_async_destroy(c.env, c.async_context);
  drop(c);
}

unsafe extern "C" fn on_closed(handle: *mut c_void) {
  release(*handle.cast::<*mut Ctx>());
}

/// Node is tearing the environment down (a Worker ending, process exit)
/// with the socket still receiving: close the handle so the loop can close.
unsafe extern "C" fn on_env_teardown(arg: *mut c_void) {
  let c = &mut *arg.cast::<Ctx>();
  if !c.closing {
    // The hook is being run, so it must not be removed again.
    c.closing = true;
    c.active = false;
    let handle = c.handle.as_mut_ptr().cast::<c_void>();
    uv_poll_stop(handle);
    uv_close(handle, Some(on_closed_at_teardown));
  }
}

unsafe extern "C" fn on_closed_at_teardown(handle: *mut c_void) {
  // The environment is going: free our memory but do not call into N-API.
  drop(Box::from_raw(*handle.cast::<*mut Ctx>()));
}

unsafe extern "C" fn on_readable(handle: *mut c_void, _status: c_int, _events: c_int) {
  let ctx = *handle.cast::<*mut Ctx>();
  let env = (*ctx).env;
  let mut scope = ptr::null_mut();
  if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
    return;
  }
  for _ in 0..BATCHES_PER_WAKE {
    // Re-read every time: the callback may have paused or closed the socket.
    if !(*ctx).active || (*ctx).closing {
      break;
    }
    let Some(len) = recv_msgs(&(*ctx).shared, &mut (*ctx).scratch) else { break };
    let full = (*ctx).scratch.count() >= RECV_MSGS;
    let mut args = [ptr::null_mut(); 2];
    let argc = if len <= RECV_COPY_MAX {
      let Some((slab, start)) = write_to_slab(&mut *ctx, env, len) else { break };
      args[0] = slab;
      sys::napi_create_uint32(env, start as u32, &mut args[1]);
      2
    } else {
      // A bulk batch of GRO trains: handed over as the receive thread's are.
      let Ok(batch) = RecvBatch::to_napi_value(env, take_batch(&(*ctx).scratch)) else { break };
      args[0] = batch;
      1
    };
    let mut func = ptr::null_mut();
    let mut recv = ptr::null_mut();
    sys::napi_get_reference_value(env, (*ctx).callback, &mut func);
    // N-API converts the receiver to an object: the global one, as for a plain call.
    sys::napi_get_global(env, &mut recv);
    let mut result = ptr::null_mut();
    let status = sys::napi_make_callback(env, (*ctx).async_context, recv, func, argc, args.as_ptr(), &mut result);
    if status == sys::Status::napi_pending_exception {
      // A throwing subscriber: report it as Node reports any callback's
      // uncaught exception, and stop draining for this turn.
      let mut error = ptr::null_mut();
      sys::napi_get_and_clear_last_exception(env, &mut error);
      sys::napi_fatal_exception(env, error);
      break;
    }
    if !full {
      break;
    }
  }
  sys::napi_close_handle_scope(env, scope);
}

/// Writes the batch `recv_msgs` just took (`len` bytes) into the slab,
/// starting a new slab when the current one has no room or is gone (a
/// detached ArrayBuffer reads as empty). Returns the slab and the batch's
/// offset in it; `None` when N-API cannot make a Buffer.
unsafe fn write_to_slab(c: &mut Ctx, env: sys::napi_env, len: usize) -> Option<(sys::napi_value, usize)> {
  let mut slab = ptr::null_mut();
  let mut data: *mut c_void = ptr::null_mut();
  if !c.slab.is_null() {
    let mut size = 0usize;
    sys::napi_get_reference_value(env, c.slab, &mut slab);
    let live = !slab.is_null()
      && sys::napi_get_buffer_info(env, slab, &mut data, &mut size) == sys::Status::napi_ok
      && !data.is_null()
      && c.slab_used + len <= size;
    if !live {
      sys::napi_delete_reference(env, c.slab);
      c.slab = ptr::null_mut();
    }
  }
  if c.slab.is_null() {
    if sys::napi_create_buffer(env, SLAB_SIZE, &mut data, &mut slab) != sys::Status::napi_ok || data.is_null() {
      return None;
    }
    if sys::napi_create_reference(env, slab, 1, &mut c.slab) != sys::Status::napi_ok {
      c.slab = ptr::null_mut();
      return None;
    }
    c.slab_used = 0;
  }
  let start = c.slab_used;
  // SAFETY: [start, start + len) is inside the slab's live memory (checked
  // above, or a fresh slab of SLAB_SIZE >= RECV_COPY_MAX >= len) and was
  // never handed to JavaScript.
  write_batch(&c.scratch, std::slice::from_raw_parts_mut(data.cast::<u8>().add(start), len));
  c.slab_used = start + len;
  Some((slab, start))
}
