// The host loads this file (package.json "main"); each import registers its functions.
import './functions/exportUsers.js';
