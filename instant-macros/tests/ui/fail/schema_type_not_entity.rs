use instant_macros::{schema, Entity};

#[derive(Entity)]
pub struct Goal {
    pub title: String,
}

pub struct Todo {
    pub title: String,
}

schema! {
    entities {
        goals: Goal,
        todos: Todo,
    }
}

fn main() {}
