#[allow(dead_code, unused_imports)]
#[path = "../../fixtures/model.rs"]
mod model;
#[allow(unused_imports)]
use instant_core::typed::*;
#[allow(unused_imports)]
use instant_core::Id;
use model::*;


fn main() {
    let _ = tx::todos(Id::new()).update(|a| a.unset(todos::title));
}