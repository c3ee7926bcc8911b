//! Where the `redis.*` functions find the run in progress.
//!
//! The functions are created once per interpreter, but what they act on
//! (the host, the run's protocol choice, a library's registrations) lives
//! on the caller's stack for one run. A scoped callback per run would do
//! it safely but costs an allocation, a Lua closure and its teardown on
//! every EVALSHA, more than a small script itself. So the slot holds a
//! pointer to the run's handler for exactly the extent of
//! [`HostSlot::with`], and the callbacks borrow it through
//! [`HostSlot::dispatch`].
#![allow(unsafe_code)]

use std::cell::Cell;
use std::ptr::NonNull;
use std::rc::Rc;

use mlua::{Lua, Value};

/// What a `redis.*` function asks of the run in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `redis.call` / `redis.pcall`.
    Call,
    /// `redis.acl_check_cmd`.
    AclCheck,
    /// `redis.setresp`.
    SetResp,
    /// `redis.set_repl`.
    SetRepl,
    /// `redis.log`.
    Log,
    /// `redis.register_function`.
    RegisterFunction,
    /// The busy hook's periodic look-up.
    Busy,
}

impl Op {
    /// The `redis.*` name, for errors.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Call => "call",
            Op::AclCheck => "acl_check_cmd",
            Op::SetResp => "setresp",
            Op::SetRepl => "set_repl",
            Op::Log => "log",
            Op::RegisterFunction => "register_function",
            Op::Busy => "busy",
        }
    }
}

/// The handler of one run: a script's or function's run, or a library's
/// load. Returns the value for Lua and whether it must be raised.
pub(crate) trait Ops {
    /// Carries out `op` with the Lua arguments it was given.
    fn op(&mut self, lua: &Lua, op: Op, args: &[Value]) -> mlua::Result<(Value, bool)>;
}

type Erased = NonNull<dyn Ops>;

/// The interpreter's pointer to the handler of the run in progress; empty
/// between runs (and while the handler is in use, so it is never borrowed
/// twice).
#[derive(Clone, Default)]
pub(crate) struct HostSlot(Rc<Cell<Option<Erased>>>);

/// Puts a pointer back into the slot when dropped (also on unwind).
struct PutBack<'c> {
    cell: &'c Cell<Option<Erased>>,
    value: Option<Erased>,
}

impl Drop for PutBack<'_> {
    fn drop(&mut self) {
        self.cell.set(self.value.take());
    }
}

impl HostSlot {
    /// Runs `f` with `ops` as the handler the `redis.*` functions reach.
    pub(crate) fn with<R>(&self, ops: &mut dyn Ops, f: impl FnOnce() -> R) -> R {
        let short: NonNull<dyn Ops + '_> = NonNull::from(ops);
        // SAFETY: only the lifetime bound of the trait object changes (same
        // layout). The pointer stays in the slot only until `_restore`
        // drops at the end of this function, while `ops` is still
        // exclusively borrowed by it, so every dereference in `dispatch`
        // happens while the handler is alive and otherwise unused.
        let erased: Erased = unsafe { std::mem::transmute::<NonNull<dyn Ops + '_>, Erased>(short) };
        let _restore = PutBack {
            cell: &self.0,
            value: self.0.replace(Some(erased)),
        };
        f()
    }

    /// Hands `op` to the handler of the run in progress; None when no run
    /// is in progress (or the handler is already busy with a call).
    pub(crate) fn dispatch(
        &self,
        lua: &Lua,
        op: Op,
        args: &[Value],
    ) -> Option<mlua::Result<(Value, bool)>> {
        let ptr = self.0.take()?;
        let _back = PutBack {
            cell: &self.0,
            value: Some(ptr),
        };
        // SAFETY: a pointer in the slot was put there by `with`, whose
        // borrow of the handler outlives its stay there (see `with`). It
        // is taken out while borrowed here, so a nested dispatch finds the
        // slot empty instead of making a second `&mut`.
        let ops = unsafe { &mut *ptr.as_ptr() };
        Some(ops.op(lua, op, args))
    }

    /// Whether a run is in progress.
    #[cfg(test)]
    pub(crate) fn is_set(&self) -> bool {
        let v = self.0.take();
        let set = v.is_some();
        self.0.set(v);
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count(usize);
    impl Ops for Count {
        fn op(&mut self, _lua: &Lua, _op: Op, args: &[Value]) -> mlua::Result<(Value, bool)> {
            self.0 += 1;
            Ok((Value::Integer(args.len() as i64), false))
        }
    }

    #[test]
    fn handler_is_reachable_only_inside_with() {
        let lua = Lua::new();
        let slot = HostSlot::default();
        assert!(slot.dispatch(&lua, Op::Call, &[]).is_none());
        let mut count = Count(0);
        let got = slot.with(&mut count, || {
            assert!(slot.is_set());
            slot.dispatch(&lua, Op::Call, &[Value::Nil, Value::Nil])
        });
        assert!(matches!(got, Some(Ok((Value::Integer(2), false)))));
        assert!(!slot.is_set());
        assert_eq!(count.0, 1);
    }

    struct Reenter(HostSlot, Option<bool>);
    impl Ops for Reenter {
        fn op(&mut self, lua: &Lua, _op: Op, _args: &[Value]) -> mlua::Result<(Value, bool)> {
            // While this handler is borrowed, the slot must look empty.
            self.1 = Some(self.0.dispatch(lua, Op::Busy, &[]).is_none());
            Ok((Value::Nil, false))
        }
    }

    #[test]
    fn a_handler_in_use_is_not_lent_twice() {
        let lua = Lua::new();
        let slot = HostSlot::default();
        let mut r = Reenter(slot.clone(), None);
        slot.with(&mut r, || slot.dispatch(&lua, Op::Call, &[]));
        assert_eq!(r.1, Some(true));
        assert!(!slot.is_set());
    }
}
