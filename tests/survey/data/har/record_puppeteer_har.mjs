// Records a HAR with @themarkup/puppeteer-har (chrome-har), as Blacklight writes them.
// usage (from a directory whose node_modules holds puppeteer-core and @themarkup/puppeteer-har):
//   node record_puppeteer_har.mjs <port> <out.har> <url>...
import puppeteer from "puppeteer-core";
import { captureNetwork } from "@themarkup/puppeteer-har";

const [port, out, ...urls] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", `--host-resolver-rules=MAP * 127.0.0.1:${port}`],
});
const page = await browser.newPage();
const har = await captureNetwork(page, { saveResponses: true });
for (const url of urls) {
  await page.goto(url, { waitUntil: "load", timeout: 20000 });
  await new Promise((r) => setTimeout(r, 1000));
}
await har(out);
await browser.close();
