#[allow(dead_code, unused_imports)]
#[path = "../../fixtures/model.rs"]
mod model;
#[allow(unused_imports)]
use instant_core::typed::*;
#[allow(unused_imports)]
use instant_core::Id;
use model::*;


fn main() {
    let _ = TodoLine::query().nested(todos::owner, |n| n);
}