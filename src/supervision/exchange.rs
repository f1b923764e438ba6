//! The courier over the federation and the exchange applying what other levels send. (Helper h4.)
