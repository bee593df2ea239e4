// Loads Chrome Trace Event JSON files into speedscope in headless Chromium
// and reports every import or stack error speedscope raises (called by
// tests/scenario/speedscope.sh).
//
//   node speedscope_load.cjs PREFIX CHROMIUM PROFILE_DIR TRACE.json...
//
// PREFIX is where scripts/setup.sh installed the npm packages speedscope and
// puppeteer-core; CHROMIUM the browser binary; PROFILE_DIR a fresh, empty
// --user-data-dir. The trace reaches speedscope the way its own command
// line does (bin/cli.mjs): a script file calling
// speedscope.loadFileFromBase64(), named by #localProfilePath= on the
// file:// URL of its index.html. speedscope's Chrome importer reports an
// unmatched or misnested begin/end with console.warn ("Tried to end ...
// when ... was on the top of the stack"), a failed import with
// console.log("Failed to load format") or an alert(): each such message is
// a failure, and so is a file whose import never finishes (the page title
// becomes "NAME - speedscope" once it has).
//
// Prints one line per file, "ok NAME (N profiles)" or "FAIL NAME: why";
// exits 0 only if every file loaded cleanly.
'use strict';
const fs = require('fs');
const path = require('path');

const [prefix, chromium, profileDir, ...traces] = process.argv.slice(2);
if (!traces.length) {
    console.error('usage: speedscope_load.cjs PREFIX CHROMIUM PROFILE_DIR TRACE.json...');
    process.exit(2);
}
const puppeteer = require(path.join(prefix, 'node_modules', 'puppeteer-core'));
const index = path.join(prefix, 'node_modules', 'speedscope', 'dist', 'release', 'index.html');

// Messages that are not speedscope's: Chromium's software WebGL reporting on
// itself ("GPU stall due to ReadPixels").
const BENIGN = [/^\[\.WebGL-[0-9a-fx]+\]GL Driver Message/];

async function loadOne(browser, trace, scratch) {
    const name = path.basename(trace);
    const js = path.join(scratch, name + '.js');
    const b64 = fs.readFileSync(trace).toString('base64');
    fs.writeFileSync(js, `speedscope.loadFileFromBase64(${JSON.stringify(name)}, ${JSON.stringify(b64)})`);
    const page = await browser.newPage();
    const problems = [];
    page.on('console', (m) => {
        const text = m.text();
        if (BENIGN.some((re) => re.test(text)))
            return;
        if (m.type() === 'warn' || m.type() === 'error' || /Failed to load format/.test(text))
            problems.push(`console.${m.type()}: ${text.slice(0, 300)}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${String(e).slice(0, 300)}`));
    page.on('dialog', async (d) => {
        problems.push(`alert: ${d.message()}`);
        await d.dismiss();
    });
    await page.goto('file://' + index + '#localProfilePath=' + js, {waitUntil: 'load'});
    let loaded = false;
    try {
        await page.waitForFunction(
            (n) => document.title === `${n} - speedscope`, {timeout: 60000, polling: 100}, name);
        loaded = true;
    } catch (e) {
        problems.push(`import did not finish within 60 s (title "${await page.title()}")`);
    }
    // Let the flame chart render once: drawing walks every stack again.
    if (loaded)
        await new Promise((r) => setTimeout(r, 300));
    await page.close();
    fs.unlinkSync(js);
    return {name, problems};
}

(async () => {
    const browser = await puppeteer.launch({
        executablePath: chromium,
        headless: true,
        userDataDir: profileDir,
        args: [
            '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync',
            // speedscope draws with WebGL: software rendering without a GPU.
            '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
            // the profile script is a file:// URL loaded by a file:// page
            '--allow-file-access-from-files',
        ],
    });
    let failed = 0;
    try {
        for (const t of traces) {
            const {name, problems} = await loadOne(browser, t, profileDir);
            if (problems.length) {
                failed++;
                console.log(`FAIL ${name}: ${problems.length} problem(s)`);
                for (const p of problems.slice(0, 5))
                    console.log(`  ${p}`);
            } else {
                console.log(`ok ${name}`);
            }
        }
    } finally {
        await browser.close();
    }
    process.exit(failed ? 1 : 0);
})().catch((e) => {
    console.error(`speedscope_load: ${e.stack || e}`);
    process.exit(2);
});
