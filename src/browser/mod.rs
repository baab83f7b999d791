//! The browser side: the imports of the JavaScript host (`js/host.js`) and the driver that
//! feeds the engine and carries out its actions. No decisions are made here.

pub mod driver;
pub mod host;
