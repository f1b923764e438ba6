//! What periodic reports need from the node: daily reports received, [sla], the asset book, silent sources. (Helper h5.)
