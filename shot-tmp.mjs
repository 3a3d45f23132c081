import { chromium } from '@playwright/test';
const url = process.argv[2]; const out = process.argv[3];
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox','--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.log('console:', m.text().slice(0, 200)); });
await page.goto(url);
await page.waitForLoadState('networkidle');
const h = await page.evaluate(() => document.body.scrollHeight);
console.log('height', h);
let i = 0;
for (let y = 0; y < h; y += 1900) {
  await page.screenshot({ path: `${out}-p${i++}.png`, clip: { x: 0, y, width: 1280, height: Math.min(1900, h - y) }, fullPage: true });
}
await browser.close();
