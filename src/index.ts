// The host loads this file (package.json "main") and registers what it declares.
import { app } from '@azure/functions';

import { createProductionExportUsers } from './functions/exportUsers.js';

const exportUsers = createProductionExportUsers(process.env);
app.timer(exportUsers.name, exportUsers.options);
