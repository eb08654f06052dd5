#!/usr/bin/env node
// A stand-in for Azure Functions Core Tools' `func azure functionapp publish`: checks what the real
// one needs to publish a Node app (the worker runtime named, an app name, a folder with host.json
// and package.json), and records the arguments and the package it was handed.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const args = process.argv.slice(2);
const [area, kind, verb, app] = args;
const fail = (message) => {
  process.stderr.write(`${message}\n`);
  process.exit(1);
};
if (area !== 'azure' || kind !== 'functionapp' || verb !== 'publish')
  fail(`fake func does not know: ${args.join(' ')}`);
if (!app || app.startsWith('-')) fail('Missing app name');
// Core Tools: GlobalCoreToolsSettings reads the worker runtime from a flag, the environment, or local.settings.json.
const runtimeFlag = ['--typescript', '--javascript', '--node'].some((flag) => args.includes(flag));
let localRuntime;
try {
  localRuntime = JSON.parse(readFileSync('local.settings.json', 'utf8')).Values?.FUNCTIONS_WORKER_RUNTIME;
} catch {
  localRuntime = undefined;
}
if (!runtimeFlag && !process.env.FUNCTIONS_WORKER_RUNTIME && !localRuntime)
  fail("Worker runtime cannot be 'None'. Please set a valid runtime.");
const files = [];
const walk = (dir) => {
  for (const item of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    if (item.isDirectory()) walk(path);
    else files.push(relative(process.cwd(), path).split(sep).join('/'));
  }
};
walk(process.cwd());
if (!files.includes('host.json'))
  fail('Unable to find project root. Expecting to find one of host.json in project root.');
writeFileSync(
  process.env.FAKE_FUNC_LOG,
  JSON.stringify({
    args,
    cwd: process.cwd(),
    files,
    packageJson: JSON.parse(readFileSync('package.json', 'utf8')),
  }),
);
process.stdout.write(`Functions in ${app}:\n    exportUsers - [timerTrigger]\n`);
