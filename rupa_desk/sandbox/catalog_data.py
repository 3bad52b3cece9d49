"""A plausible specialty-lab catalog, generated deterministically from a seed.

Lab companies are the specialty labs integrative clinics order from; each offers tests from
its specialties. Test names come from real-world test templates, then variants ("Plus",
"Basic", a single sample type, ...), then kit modifiers, then numbered panels, so names stay
unique within a company however large the catalog (100,000 tests generate in about a second).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from rupa_desk.sandbox.ids import LAB_COMPANY, LAB_TEST, IdFactory
from rupa_desk.sandbox.state import LabCompany, LabTest

SAMPLE_TYPES: Final = {
    "B": "Blood",
    "U": "Urine",
    "S": "Stool",
    "SA": "Saliva",
    "DBS": "Dried Blood Spot",
    "BR": "Breath",
}

GI = "Gastrointestinal"
HORMONES = "Hormones"
CARDIO = "Cardiometabolic"
NUTRITION = "Nutritional"
FOOD = "Food Sensitivities"
ALLERGY = "Allergy"
TOXINS = "Environmental Toxins"
METALS = "Heavy Metals"
AUTOIMMUNE = "Autoimmune"
THYROID = "Thyroid"
INFECTIOUS = "Infectious Disease"
GENETICS = "Genetics"
NEURO = "Neurotransmitters"
METABOLIC = "Organic Acids"
CHEMISTRY = "Blood Chemistry"
IMMUNE = "Immunology"
WOMEN = "Women's Health"
MEN = "Men's Health"


@dataclass(frozen=True, slots=True)
class TestTemplate:
    name: str
    categories: tuple[str, ...]
    sample_types: tuple[str, ...]
    price: float
    days: int
    biomarkers: tuple[str, ...]


def _t(name: str, cats: str, samples: str, price: float, days: int, markers: str) -> TestTemplate:
    return TestTemplate(
        name=name,
        categories=tuple(cats.split("|")),
        sample_types=tuple(SAMPLE_TYPES[s] for s in samples.split("|")),
        price=price,
        days=days,
        biomarkers=tuple(m.strip() for m in markers.split(";")),
    )


# fmt: off
TEMPLATES: Final[tuple[TestTemplate, ...]] = (
    _t("Hemoglobin A1c", f"{CARDIO}|{CHEMISTRY}", "B|DBS", 25, 3,
       "Hemoglobin A1c; Estimated Average Glucose"),
    _t("Vitamin D, 25-OH", NUTRITION, "B|DBS", 45, 4,
       "25-Hydroxyvitamin D; Vitamin D2; Vitamin D3"),
    _t("Lipid Panel", f"{CARDIO}|{CHEMISTRY}", "B|DBS", 30, 3,
       "Total Cholesterol; HDL Cholesterol; LDL Cholesterol; Triglycerides; VLDL Cholesterol;"
       " Non-HDL Cholesterol"),
    _t("Total Cholesterol", f"{CARDIO}|{CHEMISTRY}", "B", 12, 2, "Total Cholesterol"),
    _t("Comprehensive Metabolic Panel", CHEMISTRY, "B", 20, 2,
       "Glucose; BUN; Creatinine; eGFR; Sodium; Potassium; Chloride; Carbon Dioxide; Calcium;"
       " Total Protein; Albumin; Globulin; Bilirubin, Total; Alkaline Phosphatase; AST; ALT"),
    _t("Basic Metabolic Panel", CHEMISTRY, "B", 15, 2,
       "Glucose; BUN; Creatinine; eGFR; Sodium; Potassium; Chloride; Carbon Dioxide; Calcium"),
    _t("Complete Blood Count with Differential", CHEMISTRY, "B", 15, 2,
       "WBC; RBC; Hemoglobin; Hematocrit; MCV; MCH; MCHC; RDW; Platelets; Neutrophils;"
       " Lymphocytes; Monocytes; Eosinophils; Basophils"),
    _t("Thyroid Panel T3/T4", THYROID, "B|DBS", 60, 4,
       "TSH; Free T4; Free T3; Total T4; Total T3"),
    _t("Complete Thyroid Panel", f"{THYROID}|{AUTOIMMUNE}", "B|DBS", 150, 5,
       "TSH; Free T4; Free T3; Reverse T3; TPO Antibodies; Thyroglobulin Antibodies"),
    _t("TSH", THYROID, "B|DBS", 15, 2, "TSH"),
    _t("Reverse T3", THYROID, "B", 50, 5, "Reverse T3"),
    _t("Thyroid Antibodies", f"{THYROID}|{AUTOIMMUNE}", "B", 55, 4,
       "TPO Antibodies; Thyroglobulin Antibodies"),
    _t("Comprehensive Stool Analysis", GI, "S", 350, 14,
       "Calprotectin; Secretory IgA; Pancreatic Elastase 1; Beta-glucuronidase;"
       " Short Chain Fatty Acids; Occult Blood; Lactoferrin; Bacteroidetes; Firmicutes;"
       " Candida albicans; Blastocystis hominis"),
    _t("GI Microbial Assay Plus", GI, "S", 400, 12,
       "Helicobacter pylori; Clostridioides difficile; Candida albicans; Blastocystis hominis;"
       " Akkermansia muciniphila; Calprotectin; Zonulin; Anti-gliadin sIgA"),
    _t("Gut Microbiome Profile", GI, "S", 290, 15,
       "Bifidobacterium; Lactobacillus; Akkermansia muciniphila; Faecalibacterium prausnitzii;"
       " Bacteroides fragilis; Methanobrevibacter smithii; Diversity Index"),
    _t("Parasitology, 3-Day", f"{GI}|{INFECTIOUS}", "S", 160, 10,
       "Ova and Parasites; Giardia lamblia; Cryptosporidium; Entamoeba histolytica"),
    _t("Calprotectin, Stool", GI, "S", 90, 7, "Calprotectin"),
    _t("Pancreatic Elastase", GI, "S", 85, 7, "Pancreatic Elastase 1"),
    _t("Zonulin", f"{GI}|{IMMUNE}", "S|B", 95, 7, "Zonulin"),
    _t("SIBO Breath Test, Lactulose", GI, "BR", 180, 7, "Hydrogen; Methane"),
    _t("SIBO Breath Test, Glucose", GI, "BR", 170, 7, "Hydrogen; Methane"),
    _t("Hydrogen Sulfide SIBO Breath Test", GI, "BR", 230, 8,
       "Hydrogen; Methane; Hydrogen Sulfide"),
    _t("H. pylori Stool Antigen", f"{GI}|{INFECTIOUS}", "S", 70, 5, "Helicobacter pylori Antigen"),
    _t("Organic Acids Test", f"{METABOLIC}|{NUTRITION}", "U", 300, 12,
       "Citric Acid; Succinic Acid; Pyroglutamic Acid; Methylmalonic Acid; Homovanillic Acid;"
       " Vanillylmandelic Acid; 5-HIAA; Arabinose; Oxalic Acid; Kynurenic Acid"),
    _t("Metabolic Analysis Profile", f"{METABOLIC}|{NUTRITION}", "U", 240, 10,
       "Pyruvate; Lactate; Adipate; Suberate; alpha-Ketoglutarate; Citrate; Hippurate"),
    _t("DUTCH Complete", f"{HORMONES}|{WOMEN}|{MEN}", "U", 400, 10,
       "Estrone; Estradiol; Estriol; 2-OH-E1; 4-OH-E1; 16-OH-E1; Progesterone Metabolites;"
       " Testosterone; DHEA-S; Free Cortisol; Free Cortisone; Melatonin; 8-OHdG"),
    _t("DUTCH Plus", f"{HORMONES}|{WOMEN}|{MEN}", "U|SA", 500, 12,
       "Estrone; Estradiol; Estriol; Testosterone; DHEA-S; Free Cortisol;"
       " Cortisol Awakening Response; Melatonin"),
    _t("Salivary Cortisol, 4-Point", HORMONES, "SA", 120, 7,
       "Cortisol Morning; Cortisol Noon; Cortisol Evening; Cortisol Night"),
    _t("Adrenal Stress Profile", HORMONES, "SA", 150, 8,
       "Cortisol Morning; Cortisol Noon; Cortisol Evening; Cortisol Night; DHEA"),
    _t("Sleep and Stress Panel", f"{HORMONES}|{NEURO}", "SA", 170, 8,
       "Cortisol Morning; Cortisol Night; Melatonin Morning; Melatonin Night"),
    _t("Female Hormone Panel", f"{HORMONES}|{WOMEN}", "B|DBS|SA", 180, 5,
       "Estradiol; Progesterone; FSH; LH; Testosterone, Total; SHBG; DHEA-S; Prolactin"),
    _t("Male Hormone Panel", f"{HORMONES}|{MEN}", "B|DBS|SA", 170, 5,
       "Testosterone, Total; Testosterone, Free; Estradiol; SHBG; PSA; LH; FSH; DHEA-S"),
    _t("Testosterone, Free and Total", f"{HORMONES}|{MEN}", "B|SA", 65, 4,
       "Testosterone, Total; Testosterone, Free"),
    _t("Estradiol", f"{HORMONES}|{WOMEN}", "B|SA", 40, 3, "Estradiol"),
    _t("Progesterone", f"{HORMONES}|{WOMEN}", "B|SA", 40, 3, "Progesterone"),
    _t("DHEA-S", HORMONES, "B|SA", 40, 3, "DHEA-S"),
    _t("Anti-Mullerian Hormone (AMH)", f"{HORMONES}|{WOMEN}", "B", 90, 5,
       "Anti-Mullerian Hormone"),
    _t("Menopause Panel", f"{HORMONES}|{WOMEN}", "B|SA", 160, 6,
       "FSH; LH; Estradiol; Progesterone; Testosterone, Total"),
    _t("PCOS Panel", f"{HORMONES}|{WOMEN}", "B", 190, 6,
       "Testosterone, Total; Testosterone, Free; DHEA-S; LH; FSH; Insulin, Fasting;"
       " SHBG; Androstenedione"),
    _t("Prostate-Specific Antigen (PSA)", MEN, "B", 35, 3, "PSA, Total; PSA, Free"),
    _t("Toxic Elements, Urine", f"{METALS}|{TOXINS}", "U", 180, 10,
       "Lead; Mercury; Arsenic; Cadmium; Aluminum; Antimony; Barium; Bismuth; Thallium;"
       " Uranium; Tin"),
    _t("Red Blood Cell Elements", f"{METALS}|{NUTRITION}", "B", 190, 9,
       "Lead; Mercury; Cadmium; Arsenic; Magnesium; Zinc; Copper; Selenium; Manganese"),
    _t("Toxic and Essential Elements, Blood", f"{METALS}|{NUTRITION}", "B|DBS", 210, 9,
       "Lead; Mercury; Cadmium; Arsenic; Zinc; Copper; Selenium; Magnesium"),
    _t("Mercury Exposure Profile", f"{METALS}|{TOXINS}", "B|U", 140, 8,
       "Methylmercury; Inorganic Mercury; Ethylmercury"),
    _t("Mycotoxin Panel", TOXINS, "U", 350, 14,
       "Ochratoxin A; Aflatoxin M1; Gliotoxin; Zearalenone; Citrinin; Enniatin B; Roridin E;"
       " Sterigmatocystin; Mycophenolic Acid"),
    _t("Environmental Pollutants Profile", TOXINS, "U", 320, 14,
       "Glyphosate; Benzene; Xylene; Styrene; Toluene; Phthalates; Parabens;"
       " Organophosphates; Perchlorate"),
    _t("Glyphosate Test", TOXINS, "U", 110, 10, "Glyphosate"),
    _t("IgG Food Sensitivity Panel", f"{FOOD}|{IMMUNE}", "B|DBS", 200, 10,
       "Almond; Beef; Casein; Cow's Milk; Egg White; Egg Yolk; Gluten; Peanut; Soybean;"
       " Wheat; Corn; Shrimp; Chicken; Rice; Oat; Tomato"),
    _t("IgE Food Allergy Panel", f"{ALLERGY}|{FOOD}", "B", 190, 7,
       "Peanut; Tree Nut Mix; Cow's Milk; Egg White; Codfish; Shrimp; Wheat; Soybean;"
       " Sesame Seed"),
    _t("Food Sensitivity and Candida Panel", f"{FOOD}|{GI}", "B|DBS", 260, 10,
       "Gluten; Casein; Egg White; Candida albicans IgG; Candida albicans IgA;"
       " Candida albicans IgM"),
    _t("Inhalant Allergy Panel", ALLERGY, "B", 170, 6,
       "Dust Mite; Cat Dander; Dog Dander; Ragweed; Timothy Grass; Oak; Birch; Mold Mix;"
       " Cockroach"),
    _t("Mold Allergy Panel", f"{ALLERGY}|{TOXINS}", "B", 140, 6,
       "Alternaria alternata; Aspergillus fumigatus; Cladosporium herbarum;"
       " Penicillium notatum; Stachybotrys chartarum"),
    _t("Histamine Intolerance Panel", f"{ALLERGY}|{GI}", "B", 120, 6,
       "Diamine Oxidase (DAO); Histamine"),
    _t("Wheat/Gluten Proteome Reactivity", f"{AUTOIMMUNE}|{FOOD}", "B", 330, 10,
       "alpha-Gliadin-33-mer; Gamma-Gliadin-15-mer; Glutenin; Gluteomorphin; Prodynorphin;"
       " Transglutaminase-2; Transglutaminase-3; Transglutaminase-6; Wheat Germ Agglutinin"),
    _t("Intestinal Antigenic Permeability Screen", f"{AUTOIMMUNE}|{GI}", "B", 300, 10,
       "Actomyosin IgA; Occludin/Zonulin IgG; Occludin/Zonulin IgA; Lipopolysaccharides IgG;"
       " Lipopolysaccharides IgA"),
    _t("Multiple Autoimmune Reactivity Screen", AUTOIMMUNE, "B", 380, 12,
       "Parietal Cell; Intrinsic Factor; ASCA + ANCA; Tropomyosin; Thyroglobulin;"
       " Thyroid Peroxidase; Myelin Basic Protein; Ovary/Testis; Fibulin"),
    _t("Celiac Disease Panel", f"{AUTOIMMUNE}|{GI}", "B", 110, 5,
       "tTG IgA; Total IgA; Deamidated Gliadin Peptide IgG; Endomysial Antibody IgA"),
    _t("ANA Screen with Reflex", AUTOIMMUNE, "B", 60, 4,
       "Antinuclear Antibodies; dsDNA Antibodies; Sm Antibodies; SSA/SSB"),
    _t("Micronutrient Test", NUTRITION, "B", 390, 14,
       "Vitamin A; Vitamin B1; Vitamin B2; Vitamin B3; Vitamin B6; Vitamin B12; Folate;"
       " Vitamin C; Vitamin D; Vitamin K2; Calcium; Magnesium; Zinc; Copper; Selenium;"
       " Coenzyme Q10; Glutathione; Carnitine"),
    _t("Omega-3 Index", f"{NUTRITION}|{CARDIO}", "DBS|B", 80, 7,
       "Omega-3 Index; EPA; DHA; Omega-6:Omega-3 Ratio; AA:EPA Ratio"),
    _t("Fatty Acid Profile", f"{NUTRITION}|{CARDIO}", "DBS|B", 150, 8,
       "EPA; DHA; DPA; Arachidonic Acid; Linoleic Acid; Trans Fats; Omega-3 Index"),
    _t("Iron Panel", f"{NUTRITION}|{CHEMISTRY}", "B", 30, 3,
       "Iron; TIBC; Transferrin Saturation; Ferritin"),
    _t("Ferritin", f"{NUTRITION}|{CHEMISTRY}", "B|DBS", 18, 2, "Ferritin"),
    _t("Vitamin B12 and Folate", NUTRITION, "B", 40, 3, "Vitamin B12; Folate"),
    _t("Magnesium, RBC", NUTRITION, "B", 30, 4, "Magnesium, RBC"),
    _t("Zinc and Copper", NUTRITION, "B", 45, 4, "Zinc; Copper; Copper:Zinc Ratio"),
    _t("Amino Acids, Plasma", f"{NUTRITION}|{METABOLIC}", "B", 260, 10,
       "Arginine; Cysteine; Glutamine; Glycine; Histidine; Leucine; Lysine; Methionine;"
       " Phenylalanine; Taurine; Tryptophan; Tyrosine"),
    _t("Amino Acids, Urine", f"{NUTRITION}|{METABOLIC}", "U", 230, 10,
       "Arginine; Glutamine; Glycine; Histidine; Lysine; Taurine; Tryptophan; Tyrosine"),
    _t("Iodine, Urine", f"{NUTRITION}|{THYROID}", "U", 60, 6, "Iodine; Bromine; Creatinine"),
    _t("Homocysteine", f"{CARDIO}|{NUTRITION}", "B", 30, 3, "Homocysteine"),
    _t("C-Reactive Protein, High Sensitivity", f"{CARDIO}|{IMMUNE}", "B|DBS", 25, 3, "hs-CRP"),
    _t("Advanced Lipid Panel", CARDIO, "B", 120, 5,
       "LDL-P; Small LDL-P; HDL-P; Lipoprotein(a); Apolipoprotein B; Apolipoprotein A1;"
       " Triglycerides; Total Cholesterol"),
    _t("Lipoprotein(a)", CARDIO, "B", 40, 4, "Lipoprotein(a)"),
    _t("Apolipoprotein B", CARDIO, "B", 35, 4, "Apolipoprotein B"),
    _t("Cardiometabolic Risk Panel", CARDIO, "B", 220, 6,
       "Insulin, Fasting; Glucose; Hemoglobin A1c; Adiponectin; Leptin; hs-CRP; Lp-PLA2;"
       " Myeloperoxidase; TMAO"),
    _t("Insulin Resistance Panel", f"{CARDIO}|{METABOLIC}", "B", 90, 4,
       "Insulin, Fasting; Glucose, Fasting; HOMA-IR; C-Peptide"),
    _t("Insulin, Fasting", CARDIO, "B", 30, 3, "Insulin"),
    _t("Glucose, Fasting", f"{CARDIO}|{CHEMISTRY}", "B", 10, 2, "Glucose"),
    _t("Liver Function Panel", CHEMISTRY, "B", 25, 2,
       "ALT; AST; Alkaline Phosphatase; GGT; Bilirubin, Total; Bilirubin, Direct; Albumin"),
    _t("Kidney Function Panel", CHEMISTRY, "B|U", 25, 2,
       "Creatinine; BUN; eGFR; Cystatin C; Urine Albumin; Albumin/Creatinine Ratio"),
    _t("Urinalysis, Complete", CHEMISTRY, "U", 15, 2,
       "pH; Specific Gravity; Protein; Glucose; Ketones; Blood; Leukocyte Esterase; Nitrite"),
    _t("Neurotransmitter Panel", NEURO, "U", 250, 10,
       "Serotonin; Dopamine; Norepinephrine; Epinephrine; GABA; Glutamate; Glycine;"
       " Histamine; PEA"),
    _t("Melatonin, Saliva", f"{NEURO}|{HORMONES}", "SA", 90, 7, "Melatonin"),
    _t("Lyme Disease Western Blot", INFECTIOUS, "B", 220, 10,
       "Borrelia IgG Western Blot; Borrelia IgM Western Blot"),
    _t("Tick-Borne Disease Panel", INFECTIOUS, "B", 480, 14,
       "Borrelia burgdorferi; Babesia microti; Bartonella henselae; Anaplasma phagocytophilum;"
       " Ehrlichia chaffeensis"),
    _t("Epstein-Barr Virus Antibodies", f"{INFECTIOUS}|{IMMUNE}", "B", 75, 5,
       "EBV VCA IgG; EBV VCA IgM; EBV EA-D IgG; EBNA IgG"),
    _t("Candida Antibodies", f"{INFECTIOUS}|{IMMUNE}", "B", 85, 6,
       "Candida albicans IgG; Candida albicans IgA; Candida albicans IgM"),
    _t("Immune Function Panel", IMMUNE, "B", 280, 8,
       "CD3 T Cells; CD4 Helper T Cells; CD8 Cytotoxic T Cells; CD19 B Cells;"
       " CD56 NK Cells; CD4:CD8 Ratio"),
    _t("Cytokine Panel", IMMUNE, "B", 260, 9,
       "IL-1 beta; IL-6; IL-8; IL-10; TNF-alpha; IFN-gamma"),
    _t("Oxidative Stress Panel", f"{METABOLIC}|{NUTRITION}", "U|B", 190, 8,
       "8-OHdG; Lipid Peroxides; Glutathione; Superoxide Dismutase; Coenzyme Q10"),
    _t("Methylation Panel", f"{GENETICS}|{NUTRITION}", "SA|B", 240, 21,
       "MTHFR C677T; MTHFR A1298C; COMT V158M; MTR A2756G; MTRR A66G; CBS C699T"),
    _t("Nutrigenomics Panel", f"{GENETICS}|{NUTRITION}", "SA", 300, 21,
       "FTO; APOA2; PPARG; TCF7L2; VDR; FUT2; BCMO1; GC"),
    _t("APOE Genotype", f"{GENETICS}|{CARDIO}", "B|SA", 130, 14, "APOE e2/e3/e4"),
    _t("Telomere Length", GENETICS, "B", 290, 21, "Average Telomere Length; Telomere Percentile"),
    _t("Biological Age Test", f"{GENETICS}|{METABOLIC}", "DBS", 300, 21,
       "Epigenetic Age; Pace of Aging; DNA Methylation Clock"),
    _t("Bone Health Panel", f"{NUTRITION}|{WOMEN}", "B|U", 150, 6,
       "Vitamin D, 25-OH; Calcium; Parathyroid Hormone; Alkaline Phosphatase;"
       " N-Telopeptide; Osteocalcin"),
    _t("Wellness Check Panel", CHEMISTRY, "B", 95, 4,
       "Comprehensive Metabolic Panel; CBC with Differential; Lipid Panel; TSH;"
       " Hemoglobin A1c; Vitamin D, 25-OH"),
)

#: (name, short name, specialties, price factor, extra turnaround days)
COMPANIES: Final[tuple[tuple[str, str, tuple[str, ...], float, int], ...]] = (
    ("Genova Diagnostics", "Genova", (GI, NUTRITION, HORMONES, CARDIO, METABOLIC, METALS), 1.1, 2),
    ("Doctor's Data", "DDI", (METALS, GI, NUTRITION, TOXINS, METABOLIC), 1.0, 2),
    ("Vibrant America", "Vibrant",
     (CHEMISTRY, AUTOIMMUNE, CARDIO, THYROID, INFECTIOUS, WOMEN), 1.05, 1),
    ("Vibrant Wellness", "Vibrant Wellness", (GI, FOOD, TOXINS, NUTRITION, METALS), 1.05, 2),
    ("Mosaic Diagnostics", "Mosaic", (METABOLIC, TOXINS, NUTRITION, NEURO), 1.0, 2),
    ("Precision Analytical (DUTCH)", "DUTCH", (HORMONES, WOMEN, MEN, NEURO), 1.0, 1),
    ("Access Medical Laboratories", "Access",
     (CHEMISTRY, CARDIO, THYROID, HORMONES, NUTRITION), 0.8, 0),
    ("Boston Heart Diagnostics", "Boston Heart", (CARDIO, GENETICS, NUTRITION), 1.1, 1),
    ("Quest Diagnostics", "Quest",
     (CHEMISTRY, CARDIO, THYROID, HORMONES, INFECTIOUS, AUTOIMMUNE, MEN, WOMEN), 0.7, 0),
    ("Labcorp", "Labcorp",
     (CHEMISTRY, CARDIO, THYROID, HORMONES, INFECTIOUS, ALLERGY, MEN, WOMEN), 0.7, 0),
    ("ZRT Laboratory", "ZRT", (HORMONES, THYROID, METALS, WOMEN, MEN), 0.95, 2),
    ("SpectraCell Laboratories", "SpectraCell", (NUTRITION, GENETICS, CARDIO), 1.05, 3),
    ("Cyrex Laboratories", "Cyrex", (AUTOIMMUNE, FOOD, IMMUNE), 1.15, 3),
    ("KBMO Diagnostics", "KBMO", (FOOD, GI, IMMUNE), 0.95, 2),
    ("Diagnostic Solutions Laboratory", "DSL", (GI, INFECTIOUS), 1.0, 1),
    ("Real Time Laboratories", "RealTime", (TOXINS, INFECTIOUS), 1.1, 3),
    ("US BioTek Laboratories", "US BioTek", (FOOD, ALLERGY, IMMUNE), 0.9, 2),
    ("Alletess Medical Laboratory", "Alletess", (FOOD, ALLERGY), 0.85, 2),
    ("Meridian Valley Lab", "Meridian Valley", (HORMONES, NUTRITION, ALLERGY), 0.95, 2),
    ("Ayumetrix", "Ayumetrix", (HORMONES, THYROID, CARDIO), 0.9, 2),
    ("Dunwoody Labs", "Dunwoody", (GI, FOOD, IMMUNE), 1.0, 2),
    ("Gemelli Biotech", "Gemelli", (GI,), 1.0, 1),
    ("Aerodiagnostics", "Aerodiagnostics", (GI,), 0.9, 1),
    ("IGeneX", "IGeneX", (INFECTIOUS, IMMUNE), 1.2, 4),
    ("Infinite Allergy Labs", "Infinite Allergy", (ALLERGY, FOOD), 0.85, 2),
    ("Moleculera Labs", "Moleculera", (NEURO, AUTOIMMUNE, IMMUNE), 1.25, 4),
    ("NutriPATH", "NutriPATH", (NUTRITION, GI, HORMONES, METABOLIC), 0.95, 2),
    ("Oxford Biomedical Technologies", "Oxford", (FOOD, IMMUNE), 1.0, 2),
    ("Sanesco Health", "Sanesco", (NEURO, HORMONES), 1.0, 2),
    ("Microbiome Labs", "Microbiome Labs", (GI,), 1.0, 3),
    ("Great Plains Laboratory", "Great Plains", (METABOLIC, TOXINS, METALS), 1.0, 2),
    ("Medical Diagnostic Laboratories", "MDL", (INFECTIOUS, WOMEN, CHEMISTRY), 0.85, 1),
    ("Immunolabs", "Immunolabs", (FOOD, ALLERGY, IMMUNE), 0.9, 2),
    ("Nordic Laboratories", "Nordic", (GENETICS, NUTRITION), 1.1, 5),
    ("Tru Diagnostics", "TruDiagnostic", (GENETICS, METABOLIC), 1.2, 6),
    ("3X4 Genetics", "3X4", (GENETICS, NUTRITION), 1.1, 6),
    ("BioReference Laboratories", "BioReference",
     (CHEMISTRY, CARDIO, THYROID, INFECTIOUS), 0.75, 0),
    ("Empire City Laboratories", "Empire City", (CHEMISTRY, HORMONES, WOMEN), 0.8, 1),
    ("Thorne HealthTech", "Thorne", (NUTRITION, HORMONES, GI), 1.0, 3),
    ("Rhythm Diagnostics", "Rhythm", (CARDIO, METABOLIC), 1.0, 2),
)
# fmt: on

#: Extra biomarkers a "Plus"/"Expanded" variant adds, per category.
EXTRA_MARKERS: Final[dict[str, tuple[str, ...]]] = {
    GI: ("Eosinophil Protein X", "Beta-defensin 2", "Fecal Fat", "pH", "Putrefactive SCFAs"),
    HORMONES: ("Pregnenolone", "Androstenedione", "Cortisol Metabolites", "6-OH-Melatonin"),
    CARDIO: ("Lp-PLA2", "Myeloperoxidase", "Fibrinogen", "Oxidized LDL", "TMAO"),
    NUTRITION: ("Coenzyme Q10", "Alpha Lipoic Acid", "Choline", "Inositol", "Chromium"),
    FOOD: ("Lentil", "Quinoa", "Buckwheat", "Salmon", "Turkey", "Coffee", "Cocoa"),
    ALLERGY: ("Latex", "Bee Venom", "Horse Dander", "Elm", "Maple"),
    TOXINS: ("Diphenyl Phosphate", "Tiglylglycine", "2,4-D", "MTBE", "Acrylonitrile"),
    METALS: ("Nickel", "Tungsten", "Gadolinium", "Cesium", "Platinum"),
    AUTOIMMUNE: ("Cerebellar", "Synapsin", "Alpha-Myosin", "Collagen Complex"),
    THYROID: ("Thyroglobulin", "TSH Receptor Antibodies", "Free T3:Reverse T3 Ratio"),
    INFECTIOUS: ("Mycoplasma pneumoniae", "Chlamydia pneumoniae", "Cytomegalovirus IgG"),
    GENETICS: ("SOD2", "GSTM1", "NQO1", "CYP1A2", "VDR Taq"),
    NEURO: ("Taurine", "Kynurenine", "Tryptamine", "Creatinine"),
    METABOLIC: ("Malic Acid", "Fumaric Acid", "Quinolinic Acid", "Hydroxymethylglutarate"),
    CHEMISTRY: ("Uric Acid", "Phosphorus", "LDH", "Iron", "Magnesium"),
    IMMUNE: ("IgA, Total", "IgG Subclasses", "Complement C3", "Complement C4"),
    WOMEN: ("Inhibin B", "Prolactin", "Sex Hormone Binding Globulin"),
    MEN: ("Dihydrotestosterone", "Estrone", "Androstanediol Glucuronide"),
}

#: (name pattern, price factor, biomarker choice)
VARIANTS: Final[tuple[tuple[str, float, str], ...]] = (
    ("{name} Plus", 1.35, "plus"),
    ("Basic {name}", 0.7, "half"),
    ("{name}, Expanded", 1.5, "plus"),
    ("{name} Profile", 1.1, "all"),
    ("{name} with Reflex", 1.2, "all"),
    ("Comprehensive {name}", 1.6, "plus"),
    ("{name} Screen", 0.8, "half"),
    ("Advanced {name}", 1.45, "plus"),
)
MODIFIERS: Final[tuple[str, ...]] = (
    " - Home Kit",
    " - In-Office Draw",
    " - Follow-Up",
    " - Pediatric",
    " - Add-On",
    " - Mobile Phlebotomy",
)

#: updated_at of the seeded catalog spreads over the 500 days after this moment.
CATALOG_EPOCH: Final = datetime(2024, 1, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TestKind:
    """One name a company can sell: a template, a variant of it, a modifier."""

    name: str
    template: TestTemplate
    sample_types: tuple[str, ...]
    biomarkers: tuple[str, ...]
    price_factor: float


def make_lab_companies(count: int, ids: IdFactory) -> list[LabCompany]:
    """The first `count` companies (generic regional labs beyond the known list)."""
    companies = []
    for index in range(count):
        if index < len(COMPANIES):
            name, short, *_ = COMPANIES[index]
        else:
            number = index - len(COMPANIES) + 1
            name, short = f"Regional Reference Lab {number}", f"RRL {number}"
        companies.append(LabCompany(id=ids.new(LAB_COMPANY), name=name, short_name=short))
    return companies


def _profile(index: int) -> tuple[tuple[str, ...], float, int]:
    if index < len(COMPANIES):
        _, _, specialties, factor, extra_days = COMPANIES[index]
        return specialties, factor, extra_days
    return (CHEMISTRY, CARDIO, THYROID, NUTRITION), 0.8, 1


def _variant_kinds(template: TestTemplate) -> list[TestKind]:
    kinds = []
    half = template.biomarkers[: max(1, (len(template.biomarkers) + 1) // 2)]
    extra: list[str] = []
    for category in template.categories:
        extra.extend(m for m in EXTRA_MARKERS.get(category, ()) if m not in template.biomarkers)
    plus = template.biomarkers + tuple(extra[:4])
    for pattern, factor, choice in VARIANTS:
        first_word = pattern.replace("{name}", "").strip(" ,").split(" ")[0]
        if first_word and first_word in template.name:
            continue
        biomarkers = {"plus": plus, "half": half}.get(choice, template.biomarkers)
        kinds.append(
            TestKind(
                pattern.format(name=template.name),
                template,
                template.sample_types,
                biomarkers,
                factor,
            )
        )
    if len(template.sample_types) > 1:
        for sample in template.sample_types:
            kinds.append(
                TestKind(
                    f"{template.name} ({sample})",
                    template,
                    (sample,),
                    template.biomarkers,
                    1.05,
                )
            )
    return kinds


def _kinds_for_company(specialties: tuple[str, ...], rng: random.Random) -> Iterator[TestKind]:
    """Names a company sells, best-known first, endless (numbered panels at the end)."""
    templates = [t for t in TEMPLATES if set(t.categories) & set(specialties)] or list(TEMPLATES)
    base = [TestKind(t.name, t, t.sample_types, t.biomarkers, 1.0) for t in templates]
    rng.shuffle(base)
    yield from base
    variants = [kind for t in templates for kind in _variant_kinds(t)]
    rng.shuffle(variants)
    yield from variants
    everything = base + variants
    for modifier in MODIFIERS:
        for kind in everything:
            yield TestKind(
                kind.name + modifier,
                kind.template,
                kind.sample_types,
                kind.biomarkers,
                kind.price_factor * 1.05,
            )
    panel = 2
    while True:
        for kind in everything:
            yield TestKind(
                f"{kind.name} (Panel {panel})",
                kind.template,
                kind.sample_types,
                kind.biomarkers,
                kind.price_factor,
            )
        panel += 1


def make_lab_tests(
    count: int, companies: list[LabCompany], ids: IdFactory, rng: random.Random
) -> list[LabTest]:
    """`count` lab tests spread over `companies` (big reference labs carry more)."""
    if count == 0 or not companies:
        return []
    profiles = [_profile(i) for i in range(len(companies))]
    weights = [1.0 + len(p[0]) * 0.5 for p in profiles]
    assignment = rng.choices(range(len(companies)), weights=weights, k=count)
    kind_streams = [
        _kinds_for_company(profiles[i][0], random.Random(rng.random()))
        for i in range(len(companies))
    ]
    test_ids = ids.many(LAB_TEST, count)
    uniform = rng.random
    tests: list[LabTest] = []
    append = tests.append
    for test_id, company_index in zip(test_ids, assignment, strict=True):
        kind = next(kind_streams[company_index])
        _, price_factor, extra_days = profiles[company_index]
        template = kind.template
        raw_price = template.price * kind.price_factor * price_factor * (0.9 + 0.2 * uniform())
        price = float(max(9, round(raw_price)))
        append(
            LabTest(
                id=test_id,
                lab_company_id=companies[company_index].id,
                name=kind.name,
                price=price,
                sample_types=kind.sample_types,
                biomarkers=kind.biomarkers,
                estimated_days_for_results=template.days + extra_days + int(uniform() * 3),
                categories=template.categories,
                is_active=uniform() >= 0.03,
                updated_at=CATALOG_EPOCH + timedelta(seconds=int(uniform() * 500 * 86400)),
            )
        )
    return tests


def new_lab_test(
    ids: IdFactory,
    company: LabCompany,
    rng: random.Random,
    *,
    name: str | None = None,
    price: float | None = None,
    updated_at: datetime,
) -> LabTest:
    """One more test for `company` (used by the catalog control endpoint)."""
    template = rng.choice(TEMPLATES)
    return LabTest(
        id=ids.new(LAB_TEST),
        lab_company_id=company.id,
        name=name or f"{template.name} (New {rng.randint(100, 999)})",
        price=float(price if price is not None else round(template.price * 1.1)),
        sample_types=template.sample_types,
        biomarkers=template.biomarkers,
        estimated_days_for_results=template.days,
        categories=template.categories,
        is_active=True,
        updated_at=updated_at,
    )
