//! The reactive pieces every view uses, behind boxed closures. Sycamore's generic code
//! (dynamic views, memos, effects) is compiled once per closure type it is given; going
//! through these helpers it is compiled once per value type instead, which keeps the
//! wasm small. Each helper boxes its closure and hands it to a function that is not
//! generic over the closure (a closure written inside a generic function would be a
//! new type for every caller again).

use sycamore::prelude::*;
use sycamore::web::StringAttribute;

/// A part of a page rebuilt whenever what `f` reads changes.
pub(super) fn dynamic<V: Into<View>>(f: impl Fn() -> V + 'static) -> View {
    dynamic_boxed(Box::new(move || f().into()))
}

fn dynamic_boxed(f: Box<dyn Fn() -> View>) -> View {
    View::from(f)
}

/// A text node whose text follows what `f` reads.
pub(super) fn text(f: impl Fn() -> String + 'static) -> View {
    text_boxed(Box::new(f))
}

fn text_boxed(f: Box<dyn Fn() -> String>) -> View {
    View::from(f)
}

/// A memo that tells its readers only when its value changes.
pub(super) fn selector<T: PartialEq + 'static>(f: impl Fn() -> T + 'static) -> ReadSignal<T> {
    selector_boxed(Box::new(f))
}

fn selector_boxed<T: PartialEq + 'static>(f: Box<dyn Fn() -> T>) -> ReadSignal<T> {
    create_selector(f)
}

/// Runs `f` now and again whenever what it reads changes.
pub(super) fn effect(f: impl FnMut() + 'static) {
    effect_boxed(Box::new(f));
}

fn effect_boxed(f: Box<dyn FnMut()>) {
    create_effect(f);
}

/// An attribute whose value follows what `f` reads.
pub(super) fn attr<U: Into<StringAttribute> + 'static>(
    f: impl Fn() -> U + 'static,
) -> StringAttribute {
    attr_boxed(Box::new(move || f().into()))
}

fn attr_boxed(f: Box<dyn Fn() -> StringAttribute>) -> StringAttribute {
    StringAttribute::from(f)
}

/// A keyed list over string keys: each key's row is built once by `row` and kept,
/// moved or dropped as `keys` changes. Every keyed list in the pages goes through this
/// one instance of sycamore's keyed diffing (it is compiled once per item, key and
/// closure type, about 6 KB each).
pub(super) fn keyed(keys: ReadSignal<Vec<String>>, row: impl Fn(String) -> View + 'static) -> View {
    keyed_boxed(keys, Box::new(row))
}

fn keyed_boxed(keys: ReadSignal<Vec<String>>, row: Box<dyn Fn(String) -> View>) -> View {
    view! { Keyed(list=keys, key=String::clone, view=row) }
}

/// A click handler, boxed: sycamore's event plumbing (`on`, its listener closure, the
/// cleanup) is compiled once for every button's `on:click` instead of once per handler.
pub(super) fn click(
    f: impl FnMut(web_sys::MouseEvent) + 'static,
) -> Box<dyn FnMut(web_sys::MouseEvent)> {
    Box::new(f)
}

/// A form's submit handler, boxed (see [`click`]).
pub(super) fn submit(
    f: impl FnMut(web_sys::SubmitEvent) + 'static,
) -> Box<dyn FnMut(web_sys::SubmitEvent)> {
    Box::new(f)
}
