//! `tessera report`: the reports of `tessera_app::reports` on the command line, for one brand, every brand, or
//! the group, printed as a table, CSV or JSON.

use std::io::IsTerminal;

use anyhow::bail;
use tessera_app::reports::{Report, ReportName, ReportParams};
use tessera_app::App;

use crate::args::{ReportArgs, ReportFormat};
use crate::output;

/// Runs `tessera report`.
pub async fn run(app: &App, args: ReportArgs) -> anyhow::Result<()> {
    let name: ReportName = args.name.parse()?;
    let params = ReportParams {
        from: args.from,
        to: args.to,
        by: args.by.clone(),
    };
    let report = if name == ReportName::Group {
        if args.tenant.is_some() {
            bail!("the group report covers every brand: leave out --tenant");
        }
        app.group_report(params).await?
    } else if args.all {
        let mut tenants = app.tenants().all();
        tenants.sort_by(|a, b| a.slug.cmp(&b.slug));
        let bar = progress_bar(tenants.len() as u64);
        let mut reports = Vec::with_capacity(tenants.len());
        for tenant in tenants {
            if let Some(bar) = &bar {
                bar.set_message(tenant.slug.clone());
            }
            reports.push(app.tenant_report(&tenant, name, params.clone()).await?);
            if let Some(bar) = &bar {
                bar.inc(1);
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        Report::by_brand(reports)
    } else {
        let Some(slug) = &args.tenant else {
            bail!("give the brand with --tenant SLUG, or --all for every brand");
        };
        let Some(tenant) = app.tenants().by_slug(slug) else {
            bail!("no brand {slug:?}");
        };
        app.tenant_report(&tenant, name, params).await?
    };
    print(&report, args.format)
}

fn print(report: &Report, format: ReportFormat) -> anyhow::Result<()> {
    match format {
        ReportFormat::Json => output::json(report),
        ReportFormat::Csv => {
            output::raw(&report.to_csv()?);
            Ok(())
        }
        ReportFormat::Table => {
            let scope = report.tenant.as_deref().unwrap_or("all brands");
            output::raw(&format!(
                "{} — {scope} — {} to {}\n",
                report.title, report.from, report.to
            ));
            let header: Vec<&str> = report.columns.iter().map(|c| c.label.as_str()).collect();
            output::table(&header, &report.text_rows());
            Ok(())
        }
    }
}

/// A bar over the brands when standard output is a terminal; nothing otherwise (pipes and files stay clean).
fn progress_bar(len: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
        bar.set_style(style);
    }
    Some(bar)
}
